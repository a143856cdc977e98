package io.tessera.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.Architectures;
import io.tessera.core.arch.TensorNames;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face {@code config.json} read into the common {@link ModelConfig} and handed to the
 * family's {@link Architecture#configure}, as GGUF's {@code <arch>.*} keys are.
 *
 * <p>Rotary pairing: Hugging Face's {@code transformers} rotates every one of these families in
 * half-split ("NeoX") order ({@code rotate_half}), and checkpoints store the Q and K rows in that
 * order. llama.cpp's converter permutes them to interleaved pairs for its {@code llama}
 * architecture; a checkpoint loaded as it is stored therefore runs with {@link RopeStyle#NEOX},
 * whatever the family's GGUF pairing, and no weight is copied or permuted.
 *
 * <p>Keys read for every family: {@code hidden_size}, {@code intermediate_size},
 * {@code num_hidden_layers}, {@code num_attention_heads}, {@code num_key_value_heads},
 * {@code head_dim}, {@code vocab_size}, {@code max_position_embeddings}, {@code rms_norm_eps},
 * {@code rope_theta}, {@code rope_scaling} (linear, llama3, yarn, longrope/su),
 * {@code partial_rotary_factor}, {@code attention_bias}, {@code tie_word_embeddings}. Gemma 3 adds
 * its own (see {@link #gemma3}); Phi-3 its {@code original_max_position_embeddings}.
 *
 * @param family the family named by {@code architectures}
 * @param config the configuration, with the family's choices applied
 * @param tiedEmbeddings {@code tie_word_embeddings}: the output head is the token embedding
 * @param names the checkpoint's tensor names
 * @param normWeightOffset what is added to every stored RMSNorm weight (Gemma: 1, since its norm
 *     computes {@code x · (1 + w)}; llama.cpp's converter adds it when writing GGUF)
 * @param generatedVectors vectors the configuration gives rather than the weight files, by GGUF
 *     name (longrope's {@code rope_factors_short/long}, as llama.cpp's converter writes them)
 * @param ignoredPrefixes checkpoint tensors outside the language model (a multimodal checkpoint's
 *     vision tower), which are neither bound nor refused
 */
public record HfConfig(Architecture family, ModelConfig config, boolean tiedEmbeddings, HfTensorNames names,
        float normWeightOffset, Map<String, float[]> generatedVectors, List<String> ignoredPrefixes) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static HfConfig read(Path configJson) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(configJson.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(configJson, "config.json", "not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(configJson, "config.json", "not a JSON object");
        }
        return parse(configJson, root);
    }

    static HfConfig parse(Path file, JsonNode root) throws ModelFormatException {
        Architecture family = family(file, root);
        String arch = family.ggufNames().get(0);
        JsonNode c = root;
        String prefix = HfTensorNames.TEXT_PREFIX;
        String head = "lm_head.weight";
        List<String> ignored = List.of();
        if (arch.equals("gemma3")) {
            JsonNode text = root.path("text_config");
            if (text.isObject()) {
                // Gemma3ForConditionalGeneration: the language model's keys, its tensors under a
                // prefix (transformers < 4.52: language_model.model., newer: model.language_model.);
                // the vision tower and projector are not loaded
                c = text;
                prefix = "language_model.model.";
                head = "language_model.lm_head.weight";
                ignored = List.of("vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                        "model.multi_modal_projector.");
            }
            c = withGemma3Defaults(c);
        }
        int dim = positiveInt(file, c, "hidden_size", null);
        int heads = positiveInt(file, c, "num_attention_heads", null);
        int kvHeads = positiveInt(file, c, "num_key_value_heads", heads);
        int headDim = positiveInt(file, c, "head_dim", dim / heads);
        int context = positiveInt(file, c, "max_position_embeddings", 2048);
        try {
            ModelConfig common = new ModelConfig(arch, dim,
                    positiveInt(file, c, "intermediate_size", null),
                    positiveInt(file, c, "num_hidden_layers", null), heads, kvHeads, headDim,
                    positiveInt(file, c, "vocab_size", null), context,
                    positiveFloat(file, c, "rope_theta", 10000f), RopeStyle.NEOX,
                    positiveFloat(file, c, "rms_norm_eps", 1e-6f));
            ModelConfig cfg = family.configure(common);
            int rotaryDim = rotaryDim(file, c, headDim);
            if (rotaryDim != headDim) {
                if (!family.partialRotary()) {
                    throw new ModelFormatException(file, "partial_rotary_factor", "is not supported for the "
                            + family.name() + " family");
                }
                cfg = cfg.withAttention(cfg.attention().withRotaryDim(rotaryDim));
            }
            Map<String, float[]> generated = Map.of();
            JsonNode scaling = c.path("rope_scaling");
            String type = scaling.isObject()
                    ? scaling.path("rope_type").asText(scaling.path("type").asText("default")).toLowerCase(Locale.ROOT)
                    : "default";
            if (type.equals("longrope") || type.equals("su")) {
                // Phi-3 keeps it beside max_position_embeddings, newer configs inside rope_scaling
                String key = "original_max_position_embeddings";
                int original = c.has(key) ? positiveInt(file, c, key, null) : positiveInt(file, scaling, key, null);
                float factor = Math.max(1f, (float) context / original);
                JsonNode given = scaling.path("attention_factor");
                float attention = given.isNumber() ? positiveFloat(file, scaling, "attention_factor", 1f)
                        : RopeScaling.longropeMagnitude(factor, original);
                cfg = cfg.withRope(RopeStyle.NEOX, RopeScaling.longrope(factor, original, attention));
                generated = Map.of(
                        TensorNames.ROPE_FACTORS_SHORT, factorList(file, scaling, "short_factor", rotaryDim / 2),
                        TensorNames.ROPE_FACTORS_LONG, factorList(file, scaling, "long_factor", rotaryDim / 2));
            } else {
                cfg = cfg.withRope(RopeStyle.NEOX, ropeScaling(file, scaling, type, context, cfg.ropeScaling()));
            }
            if (c.path("attention_bias").asBoolean(false)) {
                cfg = cfg.withAttention(cfg.attention().withQkvBias(true));
            }
            float normOffset = 0f;
            boolean tiedDefault = false;
            if (arch.equals("gemma3")) {
                cfg = gemma3(file, c, cfg);
                normOffset = 1f;
                tiedDefault = true;
            }
            cfg = experts(file, c, arch, cfg);
            // a multimodal checkpoint may say it beside text_config
            boolean tied = (root.has("tie_word_embeddings") ? root : c).path("tie_word_embeddings")
                    .asBoolean(tiedDefault);
            return new HfConfig(family, cfg, tied, HfTensorNames.forFamily(arch, prefix, head), normOffset, generated,
                    ignored);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "config.json", e.getMessage());
        }
    }

    /**
     * The same configuration with the names the weight files use: a multimodal Gemma 3 checkpoint
     * written by transformers 4.52 or later keeps its language model under
     * {@code model.language_model.} and its head as {@code lm_head.weight}.
     */
    HfConfig withNamesFound(java.util.Set<String> stored) {
        String embedding = names.name(TensorNames.TOKEN_EMBEDDING);
        String newer = "model.language_model.";
        if (!stored.contains(embedding) && ignoredPrefixes.contains("vision_tower.")
                && stored.contains(newer + "embed_tokens.weight")) {
            return new HfConfig(family, config, tiedEmbeddings,
                    HfTensorNames.forFamily(config.architecture(), newer, "lm_head.weight"), normWeightOffset,
                    generatedVectors, ignoredPrefixes);
        }
        return this;
    }

    /**
     * A mixture-of-experts checkpoint's experts, as llama.cpp's converter and model read them:
     * {@code num_local_experts} (Mixtral) or {@code num_experts}, {@code num_experts_per_tok}, each
     * expert {@code moe_intermediate_size} (Qwen MoE) or {@code intermediate_size} wide, Qwen 2 MoE's
     * gated shared expert of {@code shared_expert_intermediate_size}. llama.cpp fixes the
     * renormalisation per family (Mixtral and Qwen 3 MoE do, Qwen 2 MoE and OLMoE do not) and runs
     * every layer sparse, so a {@code norm_topk_prob}, {@code mlp_only_layers} or
     * {@code decoder_sparse_step} saying otherwise is refused naming the key.
     */
    private static ModelConfig experts(Path file, JsonNode c, String arch, ModelConfig cfg)
            throws ModelFormatException {
        boolean expertFamily = arch.equals("qwen2moe") || arch.equals("qwen3moe") || arch.equals("olmoe");
        String countKey = c.has("num_local_experts") ? "num_local_experts" : "num_experts";
        if (!expertFamily && !(arch.equals("llama") && c.has(countKey))) {
            return cfg;
        }
        int experts = positiveInt(file, c, countKey, null);
        int used = positiveInt(file, c, "num_experts_per_tok", null);
        int hidden = positiveInt(file, c, "moe_intermediate_size", cfg.hiddenDim());
        boolean normalize = arch.equals("llama") || arch.equals("qwen3moe");
        JsonNode norm = c.path("norm_topk_prob");
        if (norm.isBoolean() && norm.asBoolean() != normalize) {
            throw new ModelFormatException(file, "norm_topk_prob", "is " + norm.asBoolean() + "; llama.cpp's " + arch
                    + (normalize ? " always renormalises" : " never renormalises") + " the chosen experts' weights");
        }
        if (c.path("mlp_only_layers").size() > 0 || c.path("decoder_sparse_step").asInt(1) != 1) {
            throw new ModelFormatException(file, c.path("mlp_only_layers").size() > 0 ? "mlp_only_layers"
                    : "decoder_sparse_step", "dense layers among the sparse ones are not supported (llama.cpp runs"
                    + " every layer with experts)");
        }
        MoeOptions moe = MoeOptions.of(experts, used, hidden, normalize);
        if (arch.equals("qwen2moe")) {
            moe = moe.withSharedExpert(positiveInt(file, c, "shared_expert_intermediate_size", null), true);
        }
        return cfg.withMoe(moe);
    }

    /** The defaults of transformers' {@code Gemma3TextConfig}, under the keys the file gives. */
    private static JsonNode withGemma3Defaults(JsonNode given) {
        ObjectNode c = JSON.createObjectNode();
        c.put("vocab_size", 262208);
        c.put("hidden_size", 2304);
        c.put("intermediate_size", 9216);
        c.put("num_hidden_layers", 26);
        c.put("num_attention_heads", 8);
        c.put("num_key_value_heads", 4);
        c.put("head_dim", 256);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("max_position_embeddings", 131072);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 1000000.0);
        c.put("query_pre_attn_scalar", 256);
        c.put("sliding_window", 4096);
        c.put("rope_local_base_freq", 10000.0);
        c.put("sliding_window_pattern", 6);
        given.properties().forEach(e -> c.set(e.getKey(), e.getValue()));
        return c;
    }

    /**
     * Gemma 3's own keys: {@code query_pre_attn_scalar} (scores scaled by its inverse square root),
     * {@code sliding_window} and which layers use it ({@code layer_types}, or every layer but each
     * {@code sliding_window_pattern}-th), {@code rope_local_base_freq} (the local layers' rotary
     * base; they take no rope scaling), {@code hidden_activation} (GELU's tanh form, the one
     * supported), {@code final_logit_softcapping} (null in Gemma 3) and
     * {@code attn_logit_softcapping}, which must be null (Gemma 2's attention soft-capping: refused,
     * since llama.cpp's Gemma 3 ignores it and its converter refuses it).
     */
    private static ModelConfig gemma3(Path file, JsonNode c, ModelConfig cfg) throws ModelFormatException {
        String act = c.path("hidden_activation").asText(c.path("hidden_act").asText("gelu_pytorch_tanh"));
        if (!act.equals("gelu_pytorch_tanh")) {
            throw new ModelFormatException(file, "hidden_activation", "'" + act
                    + "' is not supported (supported: gelu_pytorch_tanh)");
        }
        int pattern = slidingWindowPattern(file, c, cfg.layers());
        // with every layer global (pattern 1) no window is needed
        int window = pattern == 1 && c.path("sliding_window").isNull() ? 0 : positiveInt(file, c, "sliding_window", null);
        if (positiveFloat(file, c, "attn_logit_softcapping", 0f) > 0) {
            // Gemma 2's; llama.cpp's converter refuses a Gemma 3 checkpoint that sets it and its
            // Gemma 3 never caps the scores, so neither this checkpoint nor its GGUF would run as trained
            throw new ModelFormatException(file, "attn_logit_softcapping", "is not supported for Gemma 3 (Gemma 2's"
                    + " attention soft-capping; llama.cpp's Gemma 3 does not apply it either): set it to null");
        }
        var a = cfg.attention()
                .withSlidingWindow(window)
                .withLocalLayers(pattern, positiveFloat(file, c, "rope_local_base_freq", 10000f))
                .withScoreScale((float) (1.0 / Math.sqrt(positiveFloat(file, c, "query_pre_attn_scalar", 256f))));
        return cfg.withAttention(a).withFinalLogitSoftcap(positiveFloat(file, c, "final_logit_softcapping", 0f));
    }

    /**
     * The local-layer pattern: {@code layer_types} when given (each {@code sliding_attention} or
     * {@code full_attention}), which must be every layer but each n-th, else
     * {@code sliding_window_pattern}.
     */
    private static int slidingWindowPattern(Path file, JsonNode c, int layers) throws ModelFormatException {
        JsonNode types = c.path("layer_types");
        if (types.isMissingNode() || types.isNull()) {
            return positiveInt(file, c, "sliding_window_pattern", 6);
        }
        if (!types.isArray() || types.size() != layers) {
            throw new ModelFormatException(file, "layer_types", "must list one type per layer (" + layers + ")");
        }
        boolean[] local = new boolean[layers];
        for (int l = 0; l < layers; l++) {
            String t = types.get(l).asText("");
            if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                throw new ModelFormatException(file, "layer_types[" + l + "]", "'" + t
                        + "' is not sliding_attention or full_attention");
            }
            local[l] = t.equals("sliding_attention");
        }
        int pattern = AttentionOptions.patternOf(local);
        int off = AttentionOptions.firstLayerOffPattern(local, pattern);
        if (off >= 0) {
            throw new ModelFormatException(file, "layer_types[" + off + "]", "full_attention layers must recur"
                    + " with period " + pattern + " (Gemma 3's layout); layer " + off + " breaks it");
        }
        return pattern;
    }

    /** {@code head_dim · partial_rotary_factor} (Phi-4-mini: 0.75), even. */
    private static int rotaryDim(Path file, JsonNode c, int headDim) throws ModelFormatException {
        JsonNode f = c.path("partial_rotary_factor");
        if (f.isMissingNode() || f.isNull()) {
            return headDim;
        }
        double factor = f.asDouble(Double.NaN);
        int dim = (int) (headDim * factor);
        if (!f.isNumber() || !(factor > 0 && factor <= 1) || dim % 2 != 0 || dim == 0) {
            throw new ModelFormatException(file, "partial_rotary_factor", "must be in (0, 1] and give an even rotary "
                    + "width of the head dimension " + headDim + ", got " + f);
        }
        return dim;
    }

    private static float[] factorList(Path file, JsonNode scaling, String key, int length)
            throws ModelFormatException {
        JsonNode list = scaling.path(key);
        if (!list.isArray() || list.size() != length) {
            throw new ModelFormatException(file, "rope_scaling." + key, "must list " + length
                    + " factors (one per rotary pair), got " + (list.isArray() ? list.size() + " values" : list));
        }
        float[] f = new float[length];
        for (int i = 0; i < length; i++) {
            double v = list.get(i).asDouble(Double.NaN);
            if (!list.get(i).isNumber() || !(v > 0) || !Double.isFinite(v)) {
                throw new ModelFormatException(file, "rope_scaling." + key + "[" + i + "]",
                        "must be a positive finite number, got " + list.get(i));
            }
            f[i] = (float) v;
        }
        return f;
    }

    private static Architecture family(Path file, JsonNode root) throws ModelFormatException {
        JsonNode names = root.path("architectures");
        List<String> given = new ArrayList<>();
        for (JsonNode n : names) {
            if (n.isTextual()) {
                given.add(n.asText());
                var family = Architectures.forHuggingFace(n.asText());
                if (family.isPresent()) {
                    return family.get();
                }
            }
        }
        List<String> known = Architectures.all().stream().flatMap(a -> a.huggingFaceNames().stream()).toList();
        throw new ModelFormatException(file, "architectures", (given.isEmpty() ? "missing or empty"
                : "'" + String.join(", ", given) + "' is not supported") + " (supported: "
                + String.join(", ", known) + ")");
    }

    private static int positiveInt(Path file, JsonNode root, String key, Integer fallback)
            throws ModelFormatException {
        JsonNode v = root.path(key);
        if (v.isMissingNode() || v.isNull()) {
            if (fallback == null) {
                throw new ModelFormatException(file, key, "missing");
            }
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() <= 0) {
            throw new ModelFormatException(file, key, "must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    private static float positiveFloat(Path file, JsonNode root, String key, float fallback)
            throws ModelFormatException {
        JsonNode v = root.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return fallback;
        }
        float f = (float) v.asDouble(Double.NaN);
        if (!v.isNumber() || !(f > 0) || !Float.isFinite(f)) {
            throw new ModelFormatException(file, key, "must be a positive finite number, got " + v);
        }
        return f;
    }

    /**
     * {@code rope_scaling}: null, or {@code {"rope_type"|"type": default|linear|llama3|yarn, "factor": ...}}.
     * YaRN reads {@code original_max_position_embeddings} (else the model's context),
     * {@code beta_fast} (32), {@code beta_slow} (1) and its magnitude: {@code attention_factor}, or
     * from {@code mscale} and {@code mscale_all_dim}, or {@code 0.1·ln(factor) + 1}. The factor is
     * taken as written, as llama.cpp's converter takes it.
     */
    private static RopeScaling ropeScaling(Path file, JsonNode s, String type, int context, RopeScaling fallback)
            throws ModelFormatException {
        if (s.isMissingNode() || s.isNull()) {
            return fallback;
        }
        if (!s.isObject()) {
            throw new ModelFormatException(file, "rope_scaling", "must be an object or null, got " + s);
        }
        float factor = positiveFloat(file, s, "factor", 1f);
        try {
            return switch (type) {
                case "default" -> RopeScaling.NONE;
                case "linear" -> factor == 1f ? RopeScaling.NONE : RopeScaling.linear(factor);
                case "llama3" -> RopeScaling.llama3(factor, positiveFloat(file, s, "low_freq_factor", 1f),
                        positiveFloat(file, s, "high_freq_factor", 4f),
                        positiveInt(file, s, "original_max_position_embeddings", null));
                case "yarn" -> {
                    float magnitude = s.path("attention_factor").isNumber()
                            ? positiveFloat(file, s, "attention_factor", 1f)
                            : RopeScaling.yarnMagnitude(factor, positiveFloat(file, s, "mscale", 0f),
                                    positiveFloat(file, s, "mscale_all_dim", 0f));
                    yield RopeScaling.yarn(factor, positiveInt(file, s, "original_max_position_embeddings", context),
                            positiveFloat(file, s, "beta_fast", RopeScaling.YARN_BETA_FAST),
                            positiveFloat(file, s, "beta_slow", RopeScaling.YARN_BETA_SLOW), magnitude);
                }
                default -> throw new ModelFormatException(file, "rope_scaling.rope_type", "'" + type
                        + "' is not supported (supported: default, linear, llama3, yarn, longrope)");
            };
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "rope_scaling", e.getMessage());
        }
    }
}
