package io.tessera.engine;

import io.tessera.core.TestModels;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCache;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Models for engine tests: stories260K, and a small random-weight model with grouped-query heads. */
final class TestModelsEngine {

    private TestModelsEngine() {
    }

    static Model stories() throws IOException {
        return Llama2cLoader.load(TestModels.stories260K());
    }

    /** dim 256, 8 heads over 2 KV heads of 32, 2 layers, vocab 512, context 512; F32 random weights. */
    static Model synthetic(long seed) {
        ModelConfig cfg = new ModelConfig("llama", 256, 512, 2, 8, 2, 32, 512, 512, 10000f, RopeStyle.NEOX, 1e-5f);
        Arena arena = Arena.ofShared();
        Random rnd = new Random(seed);
        Tensor emb = matrix(arena, rnd, "token_embd.weight", cfg.vocabSize(), cfg.dim(), 1.0f);
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < cfg.layers(); l++) {
            String p = "blk." + l + ".";
            float s = 1f / (float) Math.sqrt(cfg.dim());
            // drawn in llama2.c's order: q, k, v, output, gate, down, up
            AttentionWeights attention = new AttentionWeights(ones(cfg.dim()),
                    matrix(arena, rnd, p + "attn_q", cfg.qDim(), cfg.dim(), s),
                    matrix(arena, rnd, p + "attn_k", cfg.kvDim(), cfg.dim(), s),
                    matrix(arena, rnd, p + "attn_v", cfg.kvDim(), cfg.dim(), s),
                    matrix(arena, rnd, p + "attn_output", cfg.dim(), cfg.qDim(), s));
            Tensor gate = matrix(arena, rnd, p + "ffn_gate", cfg.hiddenDim(), cfg.dim(), s);
            Tensor down = matrix(arena, rnd, p + "ffn_down", cfg.dim(), cfg.hiddenDim(),
                    1f / (float) Math.sqrt(cfg.hiddenDim()));
            Tensor up = matrix(arena, rnd, p + "ffn_up", cfg.hiddenDim(), cfg.dim(), s);
            layers.add(new DecoderLayer(attention, new FeedForwardWeights(ones(cfg.dim()), gate, up, down)));
        }
        Tensor out = matrix(arena, rnd, "output.weight", cfg.vocabSize(), cfg.dim(), 1f / (float) Math.sqrt(cfg.dim()));
        return new Model(Path.of("synthetic"), cfg, emb, layers, ones(cfg.dim()), out, arena::close);
    }

    private static float[] ones(int n) {
        float[] x = new float[n];
        Arrays.fill(x, 1f);
        return x;
    }

    private static Tensor matrix(Arena arena, Random rnd, String name, int rows, int cols, float scale) {
        MemorySegment seg = arena.allocate(4L * rows * cols, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) rnd.nextGaussian() * scale);
        }
        return new Tensor(name, GgmlType.F32, new long[] {cols, rows}, seg);
    }

    /** Greedy tokens of one prompt run alone, straight through the forward pass (no engine). */
    static int[] greedyAlone(Model model, Parallel parallel, int[] prompt, int maxTokens) {
        int vocab = model.config().vocabSize();
        int block = 16;
        int[] table = new int[(prompt.length + maxTokens + block - 1) / block];
        Arrays.setAll(table, i -> i);
        KvCache cache = new F32KvCache(model.config(), table.length, block);
        DecoderForward forward = new DecoderForward(model, parallel);
        float[] logits = forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.LAST), cache);
        int[] out = new int[maxTokens];
        out[0] = argmax(logits, 0, vocab);
        for (int i = 1; i < maxTokens; i++) {
            logits = forward.forward(ForwardBatch.single(table, new int[] {out[i - 1]}, prompt.length + i - 1,
                    ForwardBatch.Logits.LAST), cache);
            out[i] = argmax(logits, 0, vocab);
        }
        return out;
    }

    static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }

    /** Random prompts of the given lengths over tokens 3..vocab-1. */
    static int[][] prompts(long seed, int vocab, int... lengths) {
        Random rnd = new Random(seed);
        int[][] p = new int[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            p[i] = new int[lengths[i]];
            for (int j = 0; j < lengths[i]; j++) {
                p[i][j] = 3 + rnd.nextInt(vocab - 3);
            }
        }
        return p;
    }
}
