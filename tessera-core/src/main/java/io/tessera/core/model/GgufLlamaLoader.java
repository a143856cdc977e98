package io.tessera.core.model;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Builds a {@link LlamaModel} from a GGUF file of a Llama-family architecture, reading the
 * hyperparameters from the {@code <arch>.*} metadata keys and checking every tensor's shape.
 * Weights stay in the file's memory mapping, in whatever type they were stored.
 */
public final class GgufLlamaLoader {

    /** Architectures this loader runs, with the rotary style each one uses. */
    public enum Architecture {
        LLAMA("llama", RopeStyle.INTERLEAVED, false),
        MISTRAL("mistral", RopeStyle.INTERLEAVED, false),
        QWEN2("qwen2", RopeStyle.NEOX, true);

        final String key;
        final RopeStyle rope;
        final boolean qkvBias;

        Architecture(String key, RopeStyle rope, boolean qkvBias) {
            this.key = key;
            this.rope = rope;
            this.qkvBias = qkvBias;
        }

        static Optional<Architecture> of(String key) {
            return Arrays.stream(values()).filter(a -> a.key.equals(key)).findFirst();
        }

        public String key() {
            return key;
        }
    }

    private GgufLlamaLoader() {
    }

    public static LlamaModel load(Path file) throws IOException {
        GgufFile gguf = GgufFile.open(file);
        try {
            return load(gguf);
        } catch (IOException | RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /** Reads the configuration only: no tensor data is touched. */
    public static LlamaConfig config(GgufFile gguf) throws ModelFormatException {
        GgufMetadata md = gguf.metadata();
        Path file = gguf.path();
        String archName = md.getString("general.architecture");
        Architecture arch = Architecture.of(archName).orElseThrow(() -> new ModelFormatException(file,
                "general.architecture", "architecture '" + archName + "' is not supported (supported: "
                        + String.join(", ", Arrays.stream(Architecture.values()).map(a -> a.key).toList()) + ")"));
        String p = arch.key + ".";
        ModelValidation.checkHyperparameters(md, p);
        int dim = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        if (heads <= 0 || dim <= 0) {
            throw new ModelFormatException(file, p + "attention.head_count", "head count " + heads
                    + " and embedding length " + dim + " must be positive");
        }
        int headDim = md.getInt(p + "attention.key_length", dim / heads);
        Tensor embedding = gguf.tensor("token_embd.weight");
        long[] ed = embedding.dims();
        int vocab = md.getInt(p + "vocab_size", ed.length == 2 ? (int) Math.min(Integer.MAX_VALUE, ed[1]) : -1);
        try {
            return new LlamaConfig(arch.key, dim, md.getInt(p + "feed_forward_length"), md.getInt(p + "block_count"),
                    heads, kvHeads, headDim, vocab, md.getInt(p + "context_length"),
                    md.getFloat(p + "rope.freq_base", 10000f), arch.rope,
                    md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, p + "*", e.getMessage());
        }
    }

    /** Builds the model over an open file; the model then owns the file and closes it. */
    public static LlamaModel load(GgufFile gguf) throws ModelFormatException {
        LlamaConfig cfg = config(gguf);
        Architecture arch = Architecture.of(cfg.architecture()).orElseThrow();
        Shapes s = new Shapes(gguf, new HashSet<>());
        int dim = cfg.dim();
        Tensor embedding = s.matrix("token_embd.weight", cfg.vocabSize(), dim);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < cfg.layers(); l++) {
            String b = "blk." + l + ".";
            layers.add(new LayerWeights(
                    s.vector(b + "attn_norm.weight", dim),
                    s.matrix(b + "attn_q.weight", cfg.qDim(), dim),
                    s.matrix(b + "attn_k.weight", cfg.kvDim(), dim),
                    s.matrix(b + "attn_v.weight", cfg.kvDim(), dim),
                    s.matrix(b + "attn_output.weight", dim, cfg.qDim()),
                    s.vector(b + "ffn_norm.weight", dim),
                    s.matrix(b + "ffn_gate.weight", cfg.hiddenDim(), dim),
                    s.matrix(b + "ffn_down.weight", dim, cfg.hiddenDim()),
                    s.matrix(b + "ffn_up.weight", cfg.hiddenDim(), dim),
                    arch.qkvBias ? s.vector(b + "attn_q.bias", cfg.qDim()) : null,
                    arch.qkvBias ? s.vector(b + "attn_k.bias", cfg.kvDim()) : null,
                    arch.qkvBias ? s.vector(b + "attn_v.bias", cfg.kvDim()) : null));
        }
        float[] finalNorm = s.vector("output_norm.weight", dim);
        Tensor output = gguf.findTensor("output.weight").isPresent()
                ? s.matrix("output.weight", cfg.vocabSize(), dim)
                : embedding;
        ModelValidation.checkTensorSet(gguf, arch.key, cfg.layers(), s.used());
        return new LlamaModel(gguf.path(), cfg, embedding, layers, finalNorm, output, gguf);
    }

    /** Looks tensors up by name, checks their shapes against the configuration and notes them as used. */
    private record Shapes(GgufFile gguf, Set<String> used) {

        Tensor matrix(String name, int rows, int cols) throws ModelFormatException {
            used.add(name);
            Tensor t = gguf.tensor(name);
            long[] d = t.dims();
            if (d.length != 2 || d[0] != cols || d[1] != rows) {
                throw new ModelFormatException(gguf.path(), "tensor '" + name + "'", "shape " + Arrays.toString(d)
                        + " does not match the metadata, expected [" + cols + ", " + rows + "]");
            }
            return t;
        }

        float[] vector(String name, int length) throws ModelFormatException {
            used.add(name);
            Tensor t = gguf.tensor(name);
            long[] d = t.dims();
            if (d.length != 1 || d[0] != length) {
                throw new ModelFormatException(gguf.path(), "tensor '" + name + "'", "shape " + Arrays.toString(d)
                        + " does not match the metadata, expected [" + length + "]");
            }
            float[] out = new float[length];
            MatMul.row(t, 0, out, 0);
            return out;
        }
    }
}
