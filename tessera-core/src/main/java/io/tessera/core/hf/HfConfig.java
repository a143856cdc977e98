package io.tessera.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.Architectures;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
 * @param family the family named by {@code architectures}
 * @param config the configuration, with the family's choices applied
 * @param tiedEmbeddings {@code tie_word_embeddings}: the output head is the token embedding
 */
public record HfConfig(Architecture family, ModelConfig config, boolean tiedEmbeddings) {

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
        int dim = positiveInt(file, root, "hidden_size", null);
        int heads = positiveInt(file, root, "num_attention_heads", null);
        int kvHeads = positiveInt(file, root, "num_key_value_heads", heads);
        int headDim = positiveInt(file, root, "head_dim", dim / heads);
        int context = positiveInt(file, root, "max_position_embeddings", 2048);
        try {
            ModelConfig common = new ModelConfig(family.ggufNames().get(0), dim,
                    positiveInt(file, root, "intermediate_size", null),
                    positiveInt(file, root, "num_hidden_layers", null), heads, kvHeads, headDim,
                    positiveInt(file, root, "vocab_size", null), context,
                    positiveFloat(file, root, "rope_theta", 10000f), RopeStyle.NEOX,
                    positiveFloat(file, root, "rms_norm_eps", 1e-6f));
            ModelConfig cfg = family.configure(common);
            cfg = cfg.withRope(RopeStyle.NEOX, ropeScaling(file, root.path("rope_scaling"), cfg.ropeScaling()));
            if (root.path("attention_bias").asBoolean(false)) {
                cfg = cfg.withAttention(cfg.attention().withQkvBias(true));
            }
            return new HfConfig(family, cfg, root.path("tie_word_embeddings").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "config.json", e.getMessage());
        }
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

    /** {@code rope_scaling}: null, or {@code {"rope_type"|"type": default|linear|llama3|yarn, "factor": ...}}. */
    private static RopeScaling ropeScaling(Path file, JsonNode s, RopeScaling fallback) throws ModelFormatException {
        if (s.isMissingNode() || s.isNull()) {
            return fallback;
        }
        if (!s.isObject()) {
            throw new ModelFormatException(file, "rope_scaling", "must be an object or null, got " + s);
        }
        String type = s.path("rope_type").asText(s.path("type").asText("default")).toLowerCase(Locale.ROOT);
        float factor = positiveFloat(file, s, "factor", 1f);
        try {
            return switch (type) {
                case "default" -> RopeScaling.NONE;
                case "linear" -> factor == 1f ? RopeScaling.NONE : RopeScaling.linear(factor);
                case "llama3" -> RopeScaling.llama3(factor, positiveFloat(file, s, "low_freq_factor", 1f),
                        positiveFloat(file, s, "high_freq_factor", 4f),
                        positiveInt(file, s, "original_max_position_embeddings", null));
                case "yarn" -> new RopeScaling(RopeScaling.Type.YARN, factor,
                        s.path("original_max_position_embeddings").asInt(0), 0f, 0f);
                default -> throw new ModelFormatException(file, "rope_scaling.rope_type", "'" + type
                        + "' is not supported (supported: default, linear, llama3, yarn)");
            };
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "rope_scaling", e.getMessage());
        }
    }
}
