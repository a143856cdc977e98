package io.tessera.core.hf;

import static io.tessera.core.arch.TensorNames.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.Architectures;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.GgufModelWriter.WeightSource;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a model given by GGUF tensor names and rows (a {@link WeightSource}, as the GGUF writer
 * takes it) as a Hugging Face checkpoint directory: {@code config.json},
 * {@code generation_config.json} and one {@code model.safetensors}. The tokenizer files are the
 * caller's.
 *
 * <p>Two choices make such a directory and the GGUF file of the same source hold the same
 * numbers: matrices are stored in the chosen type ({@link SafetensorsDtype#F32}, F16 or BF16, rounded
 * as the GGUF writer rounds), but one-dimensional tensors (norm weights, biases) always in F32, as
 * GGUF files keep them; and where the configuration pairs rotary dimensions interleaved (GGUF
 * {@code llama}), the Q and K rows are written in Hugging Face's half-split order, the inverse of
 * llama.cpp's converter permutation.
 */
public final class HfCheckpointWriter {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfCheckpointWriter() {
    }

    /**
     * @param cfg the configuration as a GGUF file of the source holds it (its rotary pairing tells
     *     the row order of the source's Q and K rows)
     */
    public static void write(Path dir, ModelConfig cfg, boolean tiedEmbeddings, SafetensorsDtype dtype,
            WeightSource source) throws IOException {
        write(dir, cfg, tiedEmbeddings, dtype, source,
                Architectures.named(cfg.architecture()).huggingFaceNames().get(0));
    }

    /**
     * @param architecture the {@code architectures} entry, one of the family's Hugging Face names
     *     ({@code MistralForCausalLM} for a Mistral checkpoint of the Llama family)
     */
    public static void write(Path dir, ModelConfig cfg, boolean tiedEmbeddings, SafetensorsDtype dtype,
            WeightSource source, String architecture) throws IOException {
        write(dir, cfg, tiedEmbeddings, dtype, null, source, architecture);
    }

    /**
     * Writes the linear layers' matrices as FP8 E4M3 with scales of the given layout (see
     * {@link Fp8Scales}), as FP8 checkpoints of that layout store them; the token embedding, the
     * output head and matrices whose rows are not a multiple of 64 values (Tessera holds FP8 in
     * blocks of 64) stay BF16 and are listed as not converted.
     */
    public static void writeFp8(Path dir, ModelConfig cfg, boolean tiedEmbeddings, Fp8Scales scales,
            WeightSource source, String architecture) throws IOException {
        write(dir, cfg, tiedEmbeddings, SafetensorsDtype.BF16, scales, source, architecture);
    }

    /**
     * Writes the linear layers' matrices as int8 with one {@code weight_scale} per output channel,
     * compressed-tensors' W8A8 layout (see {@link Int8Scheme}); the token embedding and the output
     * head stay in {@code dtype}. {@code outlierThreshold} > 0 is written as Tessera's LLM.int8()
     * threshold.
     */
    public static void writeW8A8(Path dir, ModelConfig cfg, boolean tiedEmbeddings, SafetensorsDtype dtype,
            float outlierThreshold, WeightSource source, String architecture) throws IOException {
        write(dir, cfg, tiedEmbeddings, dtype, new Int8Scheme(outlierThreshold), source, architecture);
    }

    private static void write(Path dir, ModelConfig cfg, boolean tiedEmbeddings, SafetensorsDtype dtype,
            LinearQuantization fp8, WeightSource source, String architecture) throws IOException {
        Architecture family = Architectures.named(cfg.architecture());
        if (!family.huggingFaceNames().contains(architecture)) {
            throw new IllegalArgumentException("architecture '" + architecture + "' is not one of the "
                    + family.name() + " family's " + family.huggingFaceNames());
        }
        Files.createDirectories(dir);

        boolean permuted = cfg.ropeStyle() == RopeStyle.INTERLEAVED;
        // Gemma's checkpoints store w for a norm that computes x · (1 + w)
        float normOffset = cfg.architecture().equals("gemma3") ? 1f : 0f;
        SafetensorsWriter w = new SafetensorsWriter();
        Adder add = new Adder(w, HfTensorNames.forFamily(cfg.architecture(), HfTensorNames.TEXT_PREFIX, "lm_head.weight"),
                dtype, fp8, new ArrayList<>(), source, cfg.headDim(), permuted, normOffset);
        add.matrix(TOKEN_EMBEDDING, cfg.vocabSize(), cfg.dim(), 0);
        for (int l = 0; l < cfg.layers(); l++) {
            add.vector(attnNorm(l), cfg.dim());
            if (family.fusedProjections()) {
                add.stacked(attnQkv(l), cfg.dim(), new String[] {attnQ(l), attnK(l), attnV(l)}, cfg.qDim(),
                        cfg.kvDim(), cfg.kvDim());
            } else {
                add.matrix(attnQ(l), cfg.qDim(), cfg.dim(), cfg.headDim());
                add.matrix(attnK(l), cfg.kvDim(), cfg.dim(), cfg.headDim());
                add.matrix(attnV(l), cfg.kvDim(), cfg.dim(), 0);
            }
            if (cfg.attention().qkvBias()) {
                add.vector(attnQBias(l), cfg.qDim());
                add.vector(attnKBias(l), cfg.kvDim());
                add.vector(attnVBias(l), cfg.kvDim());
            }
            if (cfg.attention().qkNorm()) {
                add.vector(attnQNorm(l), cfg.attention().qkNormWidth(cfg.headDim(), cfg.qDim()));
                add.vector(attnKNorm(l), cfg.attention().qkNormWidth(cfg.headDim(), cfg.kvDim()));
            }
            add.matrix(attnOutput(l), cfg.dim(), cfg.qDim(), 0);
            if (cfg.postNorms()) {
                add.vector(attnPostNorm(l), cfg.dim());
            }
            add.vector(ffnNorm(l), cfg.dim());
            MoeOptions moe = cfg.moe();
            if (moe.sparse(l)) {
                add.matrix(ffnGateInp(l), moe.experts(), cfg.dim(), 0);
                for (int e = 0; e < moe.experts(); e++) {
                    add.expert(ffnGateExpert(l, e), ffnGateExps(l), e, moe.expertHiddenDim(), cfg.dim());
                    add.expert(ffnUpExpert(l, e), ffnUpExps(l), e, moe.expertHiddenDim(), cfg.dim());
                    add.expert(ffnDownExpert(l, e), ffnDownExps(l), e, cfg.dim(), moe.expertHiddenDim());
                }
                if (moe.sharedHiddenDim() > 0) {
                    add.matrix(ffnGateShared(l), moe.sharedHiddenDim(), cfg.dim(), 0);
                    add.matrix(ffnUpShared(l), moe.sharedHiddenDim(), cfg.dim(), 0);
                    add.matrix(ffnDownShared(l), cfg.dim(), moe.sharedHiddenDim(), 0);
                }
                if (moe.sharedExpertGate()) {
                    add.matrix(ffnGateInpShared(l), 1, cfg.dim(), 0);
                }
            } else if (family.fusedProjections()) {
                add.stacked(ffnUp(l), cfg.dim(), new String[] {ffnGate(l), ffnUp(l)}, cfg.hiddenDim(), cfg.hiddenDim());
                add.matrix(ffnDown(l), cfg.dim(), cfg.hiddenDim(), 0);
            } else {
                add.matrix(ffnGate(l), cfg.hiddenDim(), cfg.dim(), 0);
                add.matrix(ffnUp(l), cfg.hiddenDim(), cfg.dim(), 0);
                add.matrix(ffnDown(l), cfg.dim(), cfg.hiddenDim(), 0);
            }
            if (cfg.postNorms()) {
                add.vector(ffnPostNorm(l), cfg.dim());
            }
        }
        add.vector(OUTPUT_NORM, cfg.dim());
        if (!tiedEmbeddings) {
            add.matrix(OUTPUT, cfg.vocabSize(), cfg.dim(), 0);
        }
        ObjectNode config = config(family, architecture, cfg, tiedEmbeddings, dtype, source);
        if (fp8 != null) {
            config.set("quantization_config", fp8.quantizationConfig(JSON, add.notConverted()));
        }
        JSON.writeValue(dir.resolve(HfCheckpoint.CONFIG).toFile(), config);
        w.write(dir.resolve(HfCheckpoint.SINGLE_FILE));
    }

    /** Writes {@code generation_config.json} naming the BOS and EOS ids. */
    public static void writeGenerationConfig(Path dir, int bos, List<Integer> eos) throws IOException {
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", bos);
        eos.forEach(g.putArray("eos_token_id")::add);
        JSON.writeValue(dir.resolve("generation_config.json").toFile(), g);
    }

    private static ObjectNode config(Architecture family, String architecture, ModelConfig cfg, boolean tied,
            SafetensorsDtype dtype, WeightSource source) throws IOException {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(architecture);
        boolean mistral = architecture.equals("MistralForCausalLM");
        c.put("model_type", cfg.architecture().equals("gemma3") ? "gemma3_text" : mistral ? "mistral" : family.name());
        if (mistral) {
            // Mistral 7B v0.1 says 4096, later versions null; the loader reads it as llama.cpp does: not at all
            int window = cfg.attention().slidingWindow();
            if (window > 0) {
                c.put("sliding_window", window);
            } else {
                c.putNull("sliding_window");
            }
        }
        c.put("hidden_size", cfg.dim());
        c.put("intermediate_size", cfg.hiddenDim());
        c.put("num_hidden_layers", cfg.layers());
        c.put("num_attention_heads", cfg.heads());
        c.put("num_key_value_heads", cfg.kvHeads());
        c.put("head_dim", cfg.headDim());
        c.put("vocab_size", cfg.vocabSize());
        c.put("max_position_embeddings", cfg.contextLength());
        c.put("rms_norm_eps", decimal(cfg.rmsEps()));
        c.put("rope_theta", decimal(cfg.ropeTheta()));
        int rotaryDim = cfg.attention().rotaryDim(cfg.headDim());
        if (rotaryDim != cfg.headDim()) {
            c.put("partial_rotary_factor", (double) rotaryDim / cfg.headDim());
        }
        RopeScaling s = cfg.ropeScaling();
        switch (s.type()) {
            case NONE -> c.putNull("rope_scaling");
            case LINEAR -> c.putObject("rope_scaling").put("rope_type", "linear").put("factor", decimal(s.factor()));
            case LLAMA3 -> c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", decimal(s.factor()))
                    .put("low_freq_factor", decimal(s.lowFreqFactor()))
                    .put("high_freq_factor", decimal(s.highFreqFactor()))
                    .put("original_max_position_embeddings", s.originalContext());
            case YARN -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", decimal(s.factor()))
                    .put("original_max_position_embeddings", s.originalContext())
                    .put("beta_fast", decimal(s.betaFast())).put("beta_slow", decimal(s.betaSlow()))
                    .put("attention_factor", decimal(s.attentionFactor()));
            case LONGROPE -> {
                // Phi-3's layout: the original context beside max_position_embeddings, the lists from the source
                c.put("original_max_position_embeddings", s.originalContext());
                ObjectNode r = c.putObject("rope_scaling").put("type", "longrope");
                if (s.attentionFactor() != RopeScaling.longropeMagnitude(s.factor(), s.originalContext())) {
                    r.put("attention_factor", decimal(s.attentionFactor()));
                }
                for (String[] list : new String[][] {{"short_factor", ROPE_FACTORS_SHORT},
                        {"long_factor", ROPE_FACTORS_LONG}}) {
                    float[] f = new float[rotaryDim / 2];
                    source.row(list[1], 0, f, f.length);
                    var a = r.putArray(list[0]);
                    for (float v : f) {
                        a.add(decimal(v));
                    }
                }
            }
        }
        if (cfg.architecture().equals("gemma3")) {
            AttentionOptions o = cfg.attention();
            float scale = o.scoreScale(cfg.headDim());
            c.put("query_pre_attn_scalar", Math.round(1.0 / ((double) scale * scale)));
            if (o.slidingWindow() > 0) {
                c.put("sliding_window", o.slidingWindow());
                c.put("sliding_window_pattern", o.slidingWindowPattern());
            } else {
                // every layer global: transformers' way of saying so (the window then bounds no layer)
                c.putNull("sliding_window");
                c.put("sliding_window_pattern", 1);
            }
            c.put("rope_local_base_freq", decimal(o.localRopeTheta()));
            c.put("hidden_activation", "gelu_pytorch_tanh");
            putCap(c, "attn_logit_softcapping", o.logitSoftcap());
            putCap(c, "final_logit_softcapping", cfg.finalLogitSoftcap());
        } else {
            c.put("hidden_act", "silu");
        }
        MoeOptions moe = cfg.moe();
        if (moe.enabled()) {
            if (moe.leadingDenseLayers() > 0 || moe.gating() != ExpertGating.SOFTMAX || moe.weightsScale() != 1f) {
                throw new IllegalArgumentException("a checkpoint of this family has no key for leading dense layers,"
                        + " sigmoid gating or an expert weights scale");
            }
            boolean mixtral = architecture.equals("MixtralForCausalLM");
            c.put("model_type", mixtral ? "mixtral" : cfg.architecture().equals("olmoe") ? "olmoe"
                    : cfg.architecture().replace("moe", "_moe"));
            c.put(mixtral ? "num_local_experts" : "num_experts", moe.experts());
            c.put("num_experts_per_tok", moe.expertsUsed());
            if (!mixtral && !cfg.architecture().equals("olmoe")) {
                c.put("moe_intermediate_size", moe.expertHiddenDim());
            }
            if (moe.sharedHiddenDim() > 0) {
                c.put("shared_expert_intermediate_size", moe.sharedHiddenDim());
            }
            c.put("norm_topk_prob", moe.normalizeTopK());
        }
        c.put("tie_word_embeddings", tied);
        c.put("attention_bias", cfg.attention().qkvBias());
        c.put("torch_dtype", switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        return c;
    }

    /** A float as the shortest decimal that reads back as it (1e-6, not 9.99999997e-7). */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    private static void putCap(ObjectNode c, String key, float cap) {
        if (cap > 0) {
            c.put(key, decimal(cap));
        } else {
            c.putNull(key);
        }
    }

    /**
     * @param fp8 how linear layers are quantized (FP8 scale layout, int8), or null to write every matrix in {@code dtype}
     * @param notConverted Hugging Face module names of the linear layers left in {@code dtype}
     */
    private record Adder(SafetensorsWriter w, HfTensorNames names, SafetensorsDtype dtype, LinearQuantization fp8,
            List<String> notConverted, WeightSource source, int headDim, boolean permuted, float normOffset) {

        /** @param rotaryHead the head width of a Q or K projection whose rows to reorder, or 0 */
        void matrix(String name, int rows, int cols, int rotaryHead) throws IOException {
            boolean reorder = permuted && rotaryHead > 0;
            boolean linear = !name.equals(TOKEN_EMBEDDING) && !name.equals(OUTPUT);
            put(names.name(name), rows, cols, linear,
                    (row, dst) -> source.row(name, reorder ? interleavedRow(row, rotaryHead) : row, dst, cols));
        }

        /**
         * Expert {@code e}'s matrix under its own name, its rows those of its part of the stacked
         * tensor of the weight source, so that the checkpoint holds the GGUF file's values.
         */
        void expert(String name, String stacked, int e, int rows, int cols) {
            w.add(names.name(name), dtype, new long[] {rows, cols},
                    (row, dst) -> source.row(stacked, (long) e * rows + row, dst, cols));
        }

        /** One matrix of the named parts' rows, stacked in order ({@code partRows[i]} rows of part i). */
        void stacked(String name, int cols, String[] parts, int... partRows) throws IOException {
            int rows = java.util.Arrays.stream(partRows).sum();
            put(names.name(name), rows, cols, true, (row, dst) -> {
                int part = 0;
                long r = row;
                while (r >= partRows[part]) {
                    r -= partRows[part++];
                }
                source.row(parts[part], r, dst, cols);
            });
        }

        private void put(String hfName, int rows, int cols, boolean linear, SafetensorsWriter.Rows src)
                throws IOException {
            long[] shape = {rows, cols};
            if (fp8 == null || !linear || !fp8.converts(cols)) {
                if (fp8 != null && linear) {
                    notConverted.add(hfName.substring(0, hfName.length() - ".weight".length()));
                }
                w.add(hfName, dtype, shape, src);
                return;
            }
            Fp8Scales.Scales scales = fp8.of(hfName, rows, cols, src);
            w.add(hfName, fp8.dtype(), shape, (row, dst) -> {
                src.row(row, dst);
                scales.divide((int) row, dst);
            });
            w.add(hfName + fp8.suffix(), SafetensorsDtype.F32, scales.shape(), scales::row);
        }

        void vector(String name, int length) {
            boolean norm = normOffset != 0f && name.endsWith("norm.weight");
            w.add(names.name(name), SafetensorsDtype.F32, new long[] {length}, (row, dst) -> {
                source.row(name, row, dst, length);
                if (norm) {
                    for (int i = 0; i < length; i++) {
                        dst[i] -= normOffset;
                    }
                }
            });
        }
    }

    /**
     * The interleaved-order row holding half-split row {@code row}: within a head, half-split row
     * {@code j · half + i} is rotary pair {@code i}'s {@code j}-th component, which interleaved
     * order keeps at {@code 2i + j} (llama.cpp's converter permutation).
     */
    static long interleavedRow(long row, int headDim) {
        long head = row / headDim;
        int within = (int) (row % headDim);
        int half = headDim / 2;
        return head * headDim + 2L * (within % half) + within / half;
    }

    /**
     * The half-split row holding interleaved row {@code row}: the inverse of
     * {@link #interleavedRow}, by which the GGUF converter puts a checkpoint's Q and K rows into
     * llama.cpp's order.
     */
    static long halfSplitRow(long row, int headDim) {
        long head = row / headDim;
        int within = (int) (row % headDim);
        return head * headDim + (long) (within % 2) * (headDim / 2) + within / 2;
    }
}
