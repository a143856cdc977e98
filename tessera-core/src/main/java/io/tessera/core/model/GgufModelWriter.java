package io.tessera.core.model;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.Architectures;

import io.tessera.core.arch.GgufHyperparameters;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import io.tessera.core.tokenizer.GgufTokenizerMetadata;
import io.tessera.core.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a model of any family to GGUF with llama.cpp's tensor names and metadata keys, taking its
 * weights row by row from a {@link WeightSource}, so that a multi-GiB model streams to disk
 * without being held in memory. Used by {@code convert} and {@code synth}.
 */
public final class GgufModelWriter {

    /** Produces the float values of every weight, addressed by GGUF tensor name. */
    public interface WeightSource {
        /** Fills dst[0, n) with row {@code row} of the named tensor. */
        void row(String tensor, long row, float[] dst, int n) throws IOException;
    }

    private GgufModelWriter() {
    }

    public static void write(Path out, String modelName, ModelConfig cfg, boolean tiedOutput, Vocabulary vocabulary,
            WeightTypes types, WeightSource source) throws IOException {
        write(out, modelName, cfg, tiedOutput, null, vocabulary, types, source);
    }

    /**
     * As above, for a model whose file stored its rotary frequency divisors ({@link Model#ropeFrequencyFactors()},
     * null if not): they are written back as {@code rope_freqs.weight}, as are the divisors of a
     * configuration with Llama 3 rope scaling.
     */
    public static void write(Path out, String modelName, ModelConfig cfg, boolean tiedOutput,
            float[] ropeFrequencyFactors, Vocabulary vocabulary, WeightTypes types, WeightSource source)
            throws IOException {
        write(out, modelName, cfg, tiedOutput, ropeFrequencyFactors, GgufTokenizerMetadata.of(vocabulary), types, source,
                GgufWriter.Progress.NONE);
    }

    /**
     * The general form: the tokenizer is whatever {@code tokenizer} writes (a SentencePiece
     * vocabulary, a byte-level BPE, or another file's {@code tokenizer.*} keys copied), and
     * {@code progress} hears of each tensor written.
     */
    public static void write(Path out, String modelName, ModelConfig cfg, boolean tiedOutput,
            float[] ropeFrequencyFactors, GgufTokenizerMetadata tokenizer, WeightTypes types, WeightSource source,
            GgufWriter.Progress progress) throws IOException {
        GgufWriter.checkInGguf(types.matrices(), out.toString());
        if (tokenizer.size() != cfg.vocabSize()) {
            throw new IllegalArgumentException("the vocabulary has " + tokenizer.size() + " tokens, the model "
                    + cfg.vocabSize());
        }
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", cfg.architecture());
        w.putString("general.name", modelName);
        w.putUInt32("general.file_type", types.fileType());
        w.putUInt32("general.quantization_version", 2);
        GgufHyperparameters.write(cfg, w);
        tokenizer.write(w);
        w.progress(progress);

        Adder add = new Adder(w, types, cfg.layers(), source);
        add.matrix(TOKEN_EMBEDDING, -1, cfg.vocabSize(), cfg.dim());
        // longrope's factors are its own two tensors below, not rope_freqs
        boolean longrope = cfg.ropeScaling().type() == RopeScaling.Type.LONGROPE;
        float[] ropeFreqs = longrope ? null : ropeFrequencyFactors != null ? ropeFrequencyFactors
                : cfg.ropeScaling().type() == RopeScaling.Type.LLAMA3
                        ? cfg.ropeScaling().frequencyFactors(cfg.attention().rotaryDim(cfg.headDim()), cfg.ropeTheta())
                        : null;
        if (ropeFreqs != null) {
            // llama.cpp keeps Llama 3.1's scaling as the frequency divisors themselves
            w.addTensor(ROPE_FREQUENCIES, GgmlType.F32, new long[] {ropeFreqs.length},
                    (row, dst) -> System.arraycopy(ropeFreqs, 0, dst, 0, ropeFreqs.length));
        }
        if (cfg.ropeScaling().type() == RopeScaling.Type.LONGROPE) {
            // Phi-3's longrope lists, by their GGUF names, from the source
            int pairs = cfg.attention().rotaryDim(cfg.headDim()) / 2;
            for (String name : new String[] {ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT}) {
                w.addTensor(name, GgmlType.F32, new long[] {pairs}, (row, dst) -> source.row(name, 0, dst, pairs));
            }
        }
        AttentionOptions o = cfg.attention();
        // Phi-3: llama.cpp's names stack Q/K/V into attn_qkv and gate/up into ffn_up
        boolean fused = Architectures.forGguf(cfg.architecture()).map(Architecture::fusedProjections).orElse(false);
        for (int l = 0; l < cfg.layers(); l++) {
            add.vector(attnNorm(l), cfg.dim());
            if (fused) {
                add.stacked(attnQkv(l), l, cfg.dim(), new String[] {attnQ(l), attnK(l), attnV(l)},
                        cfg.qDim(), cfg.kvDim(), cfg.kvDim());
            } else {
                add.matrix(attnQ(l), l, cfg.qDim(), cfg.dim());
                add.matrix(attnK(l), l, cfg.kvDim(), cfg.dim());
                add.matrix(attnV(l), l, cfg.kvDim(), cfg.dim());
            }
            if (o.qkvBias()) {
                add.vector(attnQBias(l), cfg.qDim());
                add.vector(attnKBias(l), cfg.kvDim());
                add.vector(attnVBias(l), cfg.kvDim());
            }
            if (o.qkNorm()) {
                add.vector(attnQNorm(l), o.qkNormWidth(cfg.headDim(), cfg.qDim()));
                add.vector(attnKNorm(l), o.qkNormWidth(cfg.headDim(), cfg.kvDim()));
            }
            add.matrix(attnOutput(l), l, cfg.dim(), cfg.qDim());
            if (cfg.postNorms()) {
                add.vector(attnPostNorm(l), cfg.dim());
            }
            add.vector(ffnNorm(l), cfg.dim());
            MoeOptions moe = cfg.moe();
            if (moe.sparse(l)) {
                add.matrix(ffnGateInp(l), l, moe.experts(), cfg.dim());
                add.experts(ffnGateExps(l), l, moe.experts(), moe.expertHiddenDim(), cfg.dim());
                add.experts(ffnDownExps(l), l, moe.experts(), cfg.dim(), moe.expertHiddenDim());
                add.experts(ffnUpExps(l), l, moe.experts(), moe.expertHiddenDim(), cfg.dim());
                if (moe.sharedExpertGate()) {
                    add.vector(ffnGateInpShared(l), cfg.dim());
                }
                if (moe.sharedHiddenDim() > 0) {
                    add.matrix(ffnGateShared(l), l, moe.sharedHiddenDim(), cfg.dim());
                    add.matrix(ffnDownShared(l), l, cfg.dim(), moe.sharedHiddenDim());
                    add.matrix(ffnUpShared(l), l, moe.sharedHiddenDim(), cfg.dim());
                }
            } else if (fused) {
                add.matrix(ffnDown(l), l, cfg.dim(), cfg.hiddenDim());
                add.stacked(ffnUp(l), l, cfg.dim(), new String[] {ffnGate(l), ffnUp(l)}, cfg.hiddenDim(),
                        cfg.hiddenDim());
            } else {
                add.matrix(ffnGate(l), l, cfg.hiddenDim(), cfg.dim());
                add.matrix(ffnDown(l), l, cfg.dim(), cfg.hiddenDim());
                add.matrix(ffnUp(l), l, cfg.hiddenDim(), cfg.dim());
            }
            if (cfg.postNorms()) {
                add.vector(ffnPostNorm(l), cfg.dim());
            }
        }
        add.vector(OUTPUT_NORM, cfg.dim());
        if (!tiedOutput) {
            add.matrix(OUTPUT, -1, cfg.vocabSize(), cfg.dim());
        }
        w.write(out);
    }

    private record Adder(GgufWriter w, WeightTypes types, int layers, WeightSource source) {

        void matrix(String name, int layer, int rows, int cols) {
            GgmlType t = types.typeOf(name, layer, layers, cols);
            w.addTensor(name, t, new long[] {cols, rows}, (row, dst) -> source.row(name, row, dst, cols));
        }

        /** {@code count} matrices of {@code rows} × {@code cols} stacked in one 3-D tensor (experts), rows numbered across them. */
        void experts(String name, int layer, int count, int rows, int cols) {
            GgmlType t = types.typeOf(name, layer, layers, cols);
            w.addTensor(name, t, new long[] {cols, rows, count}, (row, dst) -> source.row(name, row, dst, cols));
        }

        /** One matrix of the named parts' rows, stacked in order ({@code partRows[i]} rows of part i). */
        void stacked(String name, int layer, int cols, String[] parts, int... partRows) {
            int rows = Arrays.stream(partRows).sum();
            GgmlType t = types.typeOf(name, layer, layers, cols);
            w.addTensor(name, t, new long[] {cols, rows}, (row, dst) -> {
                int part = 0;
                long r = row;
                while (r >= partRows[part]) {
                    r -= partRows[part++];
                }
                source.row(parts[part], r, dst, cols);
            });
        }

        void vector(String name, int length) {
            w.addTensor(name, GgmlType.F32, new long[] {length}, (row, dst) -> source.row(name, row, dst, length));
        }
    }

    /** A source reading an already loaded model, for format conversion. */
    public static WeightSource of(Model model) {
        Map<String, Object> byName = new HashMap<>();
        byName.put(TOKEN_EMBEDDING, model.tokenEmbedding());
        byName.put(OUTPUT_NORM, model.finalNorm());
        byName.put(OUTPUT, model.output());
        if (model.config().ropeScaling().type() == RopeScaling.Type.LONGROPE) {
            byName.put(ROPE_FACTORS_SHORT, model.ropeFrequencyFactors());
            byName.put(ROPE_FACTORS_LONG, model.longContextRopeFactors());
        }
        for (int l = 0; l < model.layers().size(); l++) {
            AttentionWeights a = model.layers().get(l).attention();
            DecoderLayer layer = model.layers().get(l);
            byName.put(attnNorm(l), a.norm());
            byName.put(attnQ(l), a.wq());
            byName.put(attnK(l), a.wk());
            byName.put(attnV(l), a.wv());
            byName.put(attnOutput(l), a.wo());
            putIfPresent(byName, attnQBias(l), a.bq());
            putIfPresent(byName, attnKBias(l), a.bk());
            putIfPresent(byName, attnVBias(l), a.bv());
            putIfPresent(byName, attnQNorm(l), a.qNorm());
            putIfPresent(byName, attnKNorm(l), a.kNorm());
            putIfPresent(byName, attnPostNorm(l), a.postNorm());
            putIfPresent(byName, ffnPostNorm(l), layer.feedForwardPostNorm());
            if (layer.moe() != null) {
                putExperts(byName, l, layer.moe());
            } else {
                FeedForwardWeights f = layer.feedForward();
                byName.put(ffnNorm(l), f.norm());
                byName.put(ffnGate(l), f.gate());
                byName.put(ffnDown(l), f.down());
                byName.put(ffnUp(l), f.up());
            }
        }
        return (tensor, row, dst, n) -> {
            Object w = byName.get(tensor);
            if (w instanceof Tensor t) {
                MatMul.row(t, row, dst, 0);
            } else if (w instanceof Tensor[] stacked) {
                long rows = stacked[0].rowCount();
                MatMul.row(stacked[(int) (row / rows)], row % rows, dst, 0);
            } else if (w instanceof float[] v) {
                System.arraycopy(v, 0, dst, 0, n);
            } else {
                throw new IllegalArgumentException("the model has no tensor '" + tensor + "'");
            }
        };
    }

    /** A mixture-of-experts block by its GGUF names: each stacked tensor as its experts' matrices in order. */
    private static void putExperts(Map<String, Object> byName, int l, MoeWeights m) {
        byName.put(ffnNorm(l), m.norm());
        byName.put(ffnGateInp(l), m.router());
        byName.put(ffnGateExps(l), m.experts().stream().map(ExpertWeights::gate).toArray(Tensor[]::new));
        byName.put(ffnUpExps(l), m.experts().stream().map(ExpertWeights::up).toArray(Tensor[]::new));
        byName.put(ffnDownExps(l), m.experts().stream().map(ExpertWeights::down).toArray(Tensor[]::new));
        if (m.shared() != null) {
            byName.put(ffnGateShared(l), m.shared().gate());
            byName.put(ffnUpShared(l), m.shared().up());
            byName.put(ffnDownShared(l), m.shared().down());
        }
        putIfPresent(byName, ffnGateInpShared(l), m.sharedGate());
    }

    private static void putIfPresent(Map<String, Object> map, String name, float[] v) {
        if (v != null) {
            map.put(name, v);
        }
    }
}
