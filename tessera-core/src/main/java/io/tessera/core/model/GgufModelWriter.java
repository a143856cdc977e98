package io.tessera.core.model;

import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import io.tessera.core.tokenizer.GgufVocabulary;
import io.tessera.core.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes a Llama-family model to GGUF with llama.cpp's tensor names and metadata keys, taking its
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

    public static void write(Path out, String modelName, LlamaConfig cfg, boolean tiedOutput, Vocabulary vocabulary,
            WeightTypes types, WeightSource source) throws IOException {
        if (vocabulary.size() != cfg.vocabSize()) {
            throw new IllegalArgumentException("the vocabulary has " + vocabulary.size() + " tokens, the model "
                    + cfg.vocabSize());
        }
        GgufWriter w = new GgufWriter();
        String a = cfg.architecture();
        w.putString("general.architecture", a);
        w.putString("general.name", modelName);
        w.putUInt32("general.file_type", types.fileType());
        w.putUInt32("general.quantization_version", 2);
        w.putUInt32(a + ".context_length", cfg.contextLength());
        w.putUInt32(a + ".embedding_length", cfg.dim());
        w.putUInt32(a + ".block_count", cfg.layers());
        w.putUInt32(a + ".feed_forward_length", cfg.hiddenDim());
        w.putUInt32(a + ".attention.head_count", cfg.heads());
        w.putUInt32(a + ".attention.head_count_kv", cfg.kvHeads());
        w.putUInt32(a + ".attention.key_length", cfg.headDim());
        w.putUInt32(a + ".attention.value_length", cfg.headDim());
        w.putUInt32(a + ".rope.dimension_count", cfg.headDim());
        w.putFloat32(a + ".rope.freq_base", cfg.ropeTheta());
        w.putFloat32(a + ".attention.layer_norm_rms_epsilon", cfg.rmsEps());
        w.putUInt32(a + ".vocab_size", cfg.vocabSize());
        GgufVocabulary.write(vocabulary, w);

        Adder add = new Adder(w, types, cfg.layers(), source);
        add.matrix("token_embd.weight", -1, cfg.vocabSize(), cfg.dim());
        boolean qkvBias = a.equals("qwen2");
        for (int l = 0; l < cfg.layers(); l++) {
            String b = "blk." + l + ".";
            add.vector(b + "attn_norm.weight", cfg.dim());
            add.matrix(b + "attn_q.weight", l, cfg.qDim(), cfg.dim());
            add.matrix(b + "attn_k.weight", l, cfg.kvDim(), cfg.dim());
            add.matrix(b + "attn_v.weight", l, cfg.kvDim(), cfg.dim());
            if (qkvBias) {
                add.vector(b + "attn_q.bias", cfg.qDim());
                add.vector(b + "attn_k.bias", cfg.kvDim());
                add.vector(b + "attn_v.bias", cfg.kvDim());
            }
            add.matrix(b + "attn_output.weight", l, cfg.dim(), cfg.qDim());
            add.vector(b + "ffn_norm.weight", cfg.dim());
            add.matrix(b + "ffn_gate.weight", l, cfg.hiddenDim(), cfg.dim());
            add.matrix(b + "ffn_down.weight", l, cfg.dim(), cfg.hiddenDim());
            add.matrix(b + "ffn_up.weight", l, cfg.hiddenDim(), cfg.dim());
        }
        add.vector("output_norm.weight", cfg.dim());
        if (!tiedOutput) {
            add.matrix("output.weight", -1, cfg.vocabSize(), cfg.dim());
        }
        w.write(out);
    }

    private record Adder(GgufWriter w, WeightTypes types, int layers, WeightSource source) {

        void matrix(String name, int layer, int rows, int cols) {
            GgmlType t = types.typeOf(name, layer, layers, cols);
            w.addTensor(name, t, new long[] {cols, rows}, (row, dst) -> source.row(name, row, dst, cols));
        }

        void vector(String name, int length) {
            w.addTensor(name, GgmlType.F32, new long[] {length}, (row, dst) -> source.row(name, row, dst, length));
        }
    }

    /** A source reading an already loaded model, for format conversion. */
    public static WeightSource of(LlamaModel model) {
        Map<String, Object> byName = new HashMap<>();
        byName.put("token_embd.weight", model.tokenEmbedding());
        byName.put("output_norm.weight", model.finalNorm());
        byName.put("output.weight", model.output());
        for (int l = 0; l < model.layers().size(); l++) {
            LayerWeights lw = model.layers().get(l);
            String b = "blk." + l + ".";
            byName.put(b + "attn_norm.weight", lw.attnNorm());
            byName.put(b + "attn_q.weight", lw.wq());
            byName.put(b + "attn_k.weight", lw.wk());
            byName.put(b + "attn_v.weight", lw.wv());
            byName.put(b + "attn_output.weight", lw.wo());
            byName.put(b + "ffn_norm.weight", lw.ffnNorm());
            byName.put(b + "ffn_gate.weight", lw.wGate());
            byName.put(b + "ffn_down.weight", lw.wDown());
            byName.put(b + "ffn_up.weight", lw.wUp());
            putIfPresent(byName, b + "attn_q.bias", lw.bq());
            putIfPresent(byName, b + "attn_k.bias", lw.bk());
            putIfPresent(byName, b + "attn_v.bias", lw.bv());
        }
        return (tensor, row, dst, n) -> {
            Object w = byName.get(tensor);
            if (w instanceof Tensor t) {
                MatMul.row(t, row, dst, 0);
            } else if (w instanceof float[] v) {
                System.arraycopy(v, 0, dst, 0, n);
            } else {
                throw new IllegalArgumentException("the model has no tensor '" + tensor + "'");
            }
        };
    }

    private static void putIfPresent(Map<String, Object> map, String name, float[] v) {
        if (v != null) {
            map.put(name, v);
        }
    }
}
