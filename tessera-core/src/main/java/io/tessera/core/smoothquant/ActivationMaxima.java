package io.tessera.core.smoothquant;

import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Calibration: the largest magnitude each input column of each matrix sees, max_t |X_tj|, collected
 * from real forward passes over a calibration text ({@link MatMul#observe}), as SmoothQuant's
 * calibration does. Keyed by the matrix's name ({@code blk.3.attn_q.weight}).
 */
public final class ActivationMaxima {

    private static final int BLOCK_SIZE = 16;

    private final Map<String, float[]> maxima = new HashMap<>();
    private long tokens;

    private ActivationMaxima() {
    }

    /**
     * Runs the model over {@code text} in windows of {@code ctx} tokens (each window a sequence of
     * its own that starts with {@code bos}, as the model sees a prompt) and returns what each
     * matrix's input reached. The text must hold at least one token besides BOS.
     */
    public static ActivationMaxima collect(Model model, int[] text, int bos, int ctx, Parallel parallel)
            throws Exception {
        if (ctx < 2 || ctx > model.config().contextLength()) {
            throw new IllegalArgumentException("calibration window of " + ctx + " tokens: needs 2.."
                    + model.config().contextLength());
        }
        int start = text.length > 0 && text[0] == bos ? 1 : 0;
        if (text.length - start < 1) {
            throw new IllegalArgumentException("the calibration text is empty");
        }
        ActivationMaxima m = new ActivationMaxima();
        DecoderForward forward = new DecoderForward(model, parallel);
        int blocks = (ctx + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] table = new int[blocks];
        Arrays.setAll(table, i -> i);
        try (PagedKvCache cache = new PagedKvCache(model.config(), KvCacheType.F32, blocks, BLOCK_SIZE);
                AutoCloseable observing = MatMul.observe(m::input)) {
            for (int i = start; i < text.length; i += ctx - 1) {
                int n = Math.min(ctx - 1, text.length - i);
                int[] window = new int[n + 1];
                window[0] = bos;
                System.arraycopy(text, i, window, 1, n);
                forward.forward(ForwardBatch.builder().add(table, window, 0, ForwardBatch.Logits.NONE).build(), cache);
                m.tokens += window.length;
            }
        }
        return m;
    }

    private synchronized void input(Tensor w, float[] x, int tokens) {
        int in = w.rowLength();
        float[] max = maxima.computeIfAbsent(w.name(), k -> new float[in]);
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < in; j++) {
                float a = Math.abs(x[t * in + j]);
                if (a > max[j] || Float.isNaN(a)) {
                    max[j] = a;
                }
            }
        }
    }

    /** The input maxima of the named matrix; throws when calibration never ran it. */
    public float[] of(String matrix) {
        float[] m = maxima.get(matrix);
        if (m == null) {
            throw new IllegalStateException("calibration saw no input of " + matrix);
        }
        return m.clone();
    }

    /** Tokens the calibration ran (BOS of each window included). */
    public long tokens() {
        return tokens;
    }
}
