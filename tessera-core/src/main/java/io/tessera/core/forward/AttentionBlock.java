package io.tessera.core.forward;

import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.NativeKernels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.Rope;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.tensor.Tensor;
import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * The shared attention block over one rank's heads:
 *
 * <pre>
 *   h = rmsnorm(x)
 *   q,k,v = h·Wq, h·Wk, h·Wv (+ biases when the family has them)
 *   q,k = rmsnorm per head (when the family has Q/K norm); rope(q, k, positions)
 *   cache.store(k, v);  proj = attention(q, cache of the token's own sequence) · Wo
 * </pre>
 *
 * The scores may be soft-capped ({@code cap · tanh(s / cap)}, Gemma 2) and the positions seen
 * limited to a sliding window (Mistral 0.1, Gemma); without either, no arithmetic is added. With a
 * window pattern (Gemma 3) only the local layers use the window, rotated with their own base.
 *
 * Grouped-query attention: each KV head serves {@code groupSize} consecutive query heads. On a
 * tensor-parallel rank {@code proj} is a partial sum over its heads, which the caller all-reduces.
 */
final class AttentionBlock {

    /** Most batch tokens of one sequence in an attention unit (see {@link #attention}). */
    private static final int ATTENTION_TOKENS = 8;
    /** Most scores an attention unit holds: 4 MB of floats. */
    private static final int ATTENTION_SCORES = 1 << 20;
    private static final ThreadLocal<AttentionScratch> ATTENTION_SCRATCH = ThreadLocal.withInitial(AttentionScratch::new);

    private final ModelConfig cfg;
    private final Parallel parallel;
    private final Rope rope;
    /** The rotation of the local (sliding-window) layers: {@link #rope} unless they have a base of their own. */
    private final Rope localRope;
    private final int heads;
    private final int kvHeads;
    private final int headFrom;
    private final int kvHeadFrom;
    /** Soft-cap of the attention scores; 0 for none. */
    private final float softcap;

    /**
     * @param ropeFrequencyFactors the divisors of the rotary frequencies, or null for none
     * @param heads this rank's query heads, the first being {@code headFrom}
     * @param kvHeads this rank's KV heads, the first being {@code kvHeadFrom}
     */
    AttentionBlock(ModelConfig cfg, float[] ropeFrequencyFactors, Parallel parallel, int heads, int headFrom,
            int kvHeads, int kvHeadFrom) {
        this.cfg = cfg;
        AttentionOptions o = cfg.attention();
        this.softcap = o.logitSoftcap();
        this.parallel = parallel;
        int rotaryDim = o.rotaryDim(cfg.headDim());
        this.rope = new Rope(cfg.headDim(), rotaryDim, cfg.ropeTheta(), cfg.ropeStyle(), ropeFrequencyFactors,
                cfg.ropeScaling().attentionFactor());
        // local layers take neither the model's rope scaling nor its frequency factors (llama.cpp's freq_scale_swa)
        this.localRope = o.localRopeTheta() > 0
                ? new Rope(cfg.headDim(), rotaryDim, o.localRopeTheta(), cfg.ropeStyle(), null, 1f)
                : rope;
        this.heads = heads;
        this.headFrom = headFrom;
        this.kvHeads = kvHeads;
        this.kvHeadFrom = kvHeadFrom;
    }

    /**
     * Leaves the block's result for every token of the batch in {@code b.proj}.
     *
     * @param layer the layer's index in this shard's KV cache
     * @param modelLayer the layer's index in the whole model, which decides whether it is local
     */
    void run(int layer, int modelLayer, AttentionWeights w, ForwardBatch batch, KvCache cache, float[] x,
            StepBuffers b) {
        int n = batch.size();
        int dim = cfg.dim();
        int hd = cfg.headDim();
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        float[] q = b.q;
        float[] k = b.k;
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(b.h, t * dim, x, t * dim, w.norm(), dim, cfg.rmsEps());
        }
        MatMul.matmul(parallel, new Tensor[] {w.wq(), w.wk(), w.wv()}, b.h, n, new float[][] {q, k, b.v});
        addBias(q, w.bq(), n);
        addBias(k, w.bk(), n);
        addBias(b.v, w.bv(), n);
        if (w.qNorm() != null && cfg.attention().qkNormOverProjection()) {
            // OLMoE: each token's whole projection at once (a single rank holds it: see ShardSpec.check)
            normalizeRows(q, n, qDim, w.qNorm());
            normalizeRows(k, n, kvDim, w.kNorm());
        } else if (w.qNorm() != null) {
            normalizeHeads(q, n * heads, w.qNorm());
            normalizeHeads(k, n * kvHeads, w.kNorm());
        }
        boolean local = cfg.attention().isLocal(modelLayer);
        Rope r = local ? localRope : rope;
        for (int t = 0; t < n; t++) {
            int pos = batch.position(t);
            r.apply(q, t * qDim, heads, pos);
            r.apply(k, t * kvDim, kvHeads, pos);
            cache.store(layer, batch.slot(batch.sequence(t), pos, cache.blockSize()), k, t * kvDim, b.v, t * kvDim);
        }
        attention(layer, cfg.attention().windowOf(modelLayer), batch, cache, q, b.att);
        MatMul.matmul(parallel, w.wo(), b.att, n, b.proj);
    }

    private static void addBias(float[] rows, float[] bias, int n) {
        if (bias == null) {
            return;
        }
        for (int t = 0; t < n; t++) {
            VectorMath.axpy(rows, t * bias.length, 1f, bias, 0, bias.length);
        }
    }

    /** RMSNorm of each of the {@code count} consecutive rows of {@code width} values of {@code x}, in place. */
    private void normalizeRows(float[] x, int count, int width, float[] weight) {
        for (int i = 0; i < count; i++) {
            VectorMath.rmsNorm(x, i * width, x, i * width, weight, width, cfg.rmsEps());
        }
    }

    /** RMSNorm of each of the {@code count} consecutive heads of {@code x}, in place, with one head's weights. */
    private void normalizeHeads(float[] x, int count, float[] weight) {
        int hd = cfg.headDim();
        for (int i = 0; i < count; i++) {
            VectorMath.rmsNorm(x, i * hd, x, i * hd, weight, hd, cfg.rmsEps());
        }
    }

    /** The first position a token at {@code pos} sees through a window of {@code window} positions (0: all). */
    private static int windowStart(int window, int pos) {
        return window == 0 ? 0 : Math.max(0, pos - window + 1);
    }

    /**
     * Causal attention of every (token, local head) pair over its sequence's cached positions 0..pos
     * (the last {@code window} of them with a sliding window).
     * The work is split into units of one local KV head and a run of up to {@value #ATTENTION_TOKENS}
     * consecutive batch tokens of one sequence: each cached key and value is widened to floats once
     * per unit and used by all of the unit's tokens and query heads (grouped-query attention shares
     * one KV head among {@code groupSize} query heads), instead of once per (token, head). Each
     * (token, head) still takes the same operations in the same order, whatever its unit.
     */
    private void attention(int layer, int window, ForwardBatch batch, KvCache cache, float[] q, float[] out) {
        int headDim = cfg.headDim();
        int group = cfg.groupSize();
        int qDim = heads * headDim;
        int blockSize = cache.blockSize();
        float scale = cfg.attention().scoreScale(headDim);
        int maxPos = 0;
        for (int t = 0; t < batch.size(); t++) {
            maxPos = Math.max(maxPos, batch.position(t));
        }
        // fewer tokens per unit when contexts are long, so a unit's scores stay within a few MB
        int runLength = Math.max(1, Math.min(ATTENTION_TOKENS, ATTENTION_SCORES / (group * (maxPos + 1))));
        int[] runs = sequenceRuns(batch, runLength);
        int units = (runs.length - 1) * kvHeads;
        // the native kernels read a paged cache of the types they know; any other cache or type stays on Java
        NativeKernels nk = cache instanceof PagedKvCache ? Kernels.active() : null;
        parallel.forRange(units, 1, (from, to) -> {
            AttentionScratch scratch = ATTENTION_SCRATCH.get();
            float[] row = scratch.row(headDim);
            for (int u = from; u < to; u++) {
                int first = runs[u / kvHeads];
                int end = runs[u / kvHeads + 1];
                int kv = u % kvHeads;
                int kvOff = kv * headDim;
                // the local query heads that read this KV head
                int hFrom = Math.max(0, (kvHeadFrom + kv) * group - headFrom);
                int hTo = Math.min(heads, (kvHeadFrom + kv + 1) * group - headFrom);
                int nh = hTo - hFrom;
                int seq = batch.sequence(first);
                int len = 0;
                int seen = Integer.MAX_VALUE;
                for (int t = first; t < end; t++) {
                    len = Math.max(len, batch.position(t) + 1);
                    seen = Math.min(seen, windowStart(window, batch.position(t)));
                }
                float[] scores = scratch.scores((end - first) * nh * len);
                NativeUnit unit = nk == null ? null
                        : NativeUnit.of(nk, (PagedKvCache) cache, scratch, layer, kvOff, headDim, batch, seq, seen, len,
                                first, end, window, t -> t * qDim + hFrom * headDim);
                if (unit != null) {
                    nk.attentionScores(unit.keys, q, unit.offsets, unit.seenFrom, unit.seenTo, end - first, nh, scale, scores);
                } else {
                    for (int j = seen; j < len; j++) {
                        cache.readKey(layer, batch.slot(seq, j, blockSize), kvOff, row, 0, headDim);
                        for (int t = first; t < end; t++) {
                            if (batch.position(t) < j || j < windowStart(window, batch.position(t))) {
                                continue;
                            }
                            for (int h = 0; h < nh; h++) {
                                int qOff = t * qDim + (hFrom + h) * headDim;
                                scores[((t - first) * nh + h) * len + j] = VectorMath.dot(row, 0, q, qOff, headDim) * scale;
                            }
                        }
                    }
                }
                for (int t = first; t < end; t++) {
                    int seenFrom = windowStart(window, batch.position(t));
                    int count = batch.position(t) + 1 - seenFrom;
                    for (int h = 0; h < nh; h++) {
                        int at = ((t - first) * nh + h) * len + seenFrom;
                        if (softcap > 0) {
                            VectorMath.softcap(scores, at, count, softcap);
                        }
                        VectorMath.softmax(scores, at, count);
                        int qOff = t * qDim + (hFrom + h) * headDim;
                        Arrays.fill(out, qOff, qOff + headDim, 0f);
                    }
                }
                if (unit != null) {
                    nk.attentionValues(unit.values, scores, unit.offsets, unit.seenFrom, unit.seenTo, end - first, nh, out);
                    continue;
                }
                for (int j = seen; j < len; j++) {
                    cache.readValue(layer, batch.slot(seq, j, blockSize), kvOff, row, 0, headDim);
                    for (int t = first; t < end; t++) {
                        if (batch.position(t) < j || j < windowStart(window, batch.position(t))) {
                            continue;
                        }
                        for (int h = 0; h < nh; h++) {
                            int qOff = t * qDim + (hFrom + h) * headDim;
                            VectorMath.axpy(out, qOff, scores[((t - first) * nh + h) * len + j], row, 0, headDim);
                        }
                    }
                }
            }
        });
    }

    /**
     * Where each run of consecutive batch tokens of one sequence, at most {@code maxRun} long,
     * begins, followed by the batch size.
     */
    private static int[] sequenceRuns(ForwardBatch batch, int maxRun) {
        int[] starts = new int[batch.size() + 1];
        int n = 0;
        for (int t = 0; t < batch.size(); t++) {
            if (t == 0 || batch.sequence(t) != batch.sequence(t - 1) || t - starts[n - 1] == maxRun) {
                starts[n++] = t;
            }
        }
        starts[n++] = batch.size();
        return Arrays.copyOf(starts, n);
    }

    /**
     * One attention unit as the native kernels take it: its key and value rows (the slots of
     * positions seen..len), and per token the offset of its first query head and the positions it
     * sees. Null from {@link #of} when the cache's type has no native reader.
     */
    private record NativeUnit(NativeKernels.KvRows keys, NativeKernels.KvRows values, int[] offsets, int[] seenFrom,
            int[] seenTo) {

        static NativeUnit of(NativeKernels nk, PagedKvCache cache, AttentionScratch scratch, int layer, int kvOff,
                int headDim, ForwardBatch batch, int seq, int seen, int len, int first, int end, int window,
                IntUnaryOperator headOffset) {
            int[] slots = scratch.ints(0, len - seen);
            for (int j = seen; j < len; j++) {
                slots[j - seen] = batch.slot(seq, j, cache.blockSize());
            }
            NativeKernels.KvRows keys = cache.nativeRows(layer, true, kvOff, headDim, slots, seen, len);
            if (keys == null) {
                return null;
            }
            NativeKernels.KvRows values = cache.nativeRows(layer, false, kvOff, headDim, slots, seen, len);
            int[] offsets = scratch.ints(1, end - first);
            int[] seenFrom = scratch.ints(2, end - first);
            int[] seenTo = scratch.ints(3, end - first);
            for (int t = first; t < end; t++) {
                offsets[t - first] = headOffset.applyAsInt(t);
                seenFrom[t - first] = windowStart(window, batch.position(t));
                seenTo[t - first] = batch.position(t);
            }
            return new NativeUnit(keys, values, offsets, seenFrom, seenTo);
        }
    }

    /** A thread's attention buffers, grown on demand: one widened key or value row, a unit's scores, and integers. */
    private static final class AttentionScratch {
        private float[] row = new float[0];
        private float[] scores = new float[0];
        private final int[][] ints = new int[4][0];

        /** Integer buffer {@code which} (0-3), at least n long. */
        int[] ints(int which, int n) {
            if (ints[which].length < n) {
                ints[which] = new int[n];
            }
            return ints[which];
        }

        float[] row(int n) {
            if (row.length < n) {
                row = new float[n];
            }
            return row;
        }

        float[] scores(int n) {
            if (scores.length < n) {
                scores = new float[n];
            }
            return scores;
        }
    }
}
