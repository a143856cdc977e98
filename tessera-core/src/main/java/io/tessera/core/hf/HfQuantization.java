package io.tessera.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.format.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code config.json}'s {@code quantization_config} says about a checkpoint's weights. Tessera
 * reads FP8 weights (E4M3, and E5M2 rewritten as E4M3 by {@code Fp8Weights}) as the three producers
 * of FP8 checkpoints store them:
 *
 * <ul>
 * <li>{@code quant_method: "fp8"} (transformers' fine-grained FP8; DeepSeek-V3, Qwen 3 FP8):
 *     {@code weight_scale_inv} per block of {@code weight_block_size} (usually [128, 128]); the
 *     value is {@code q · weight_scale_inv}.</li>
 * <li>{@code quant_method: "compressed-tensors"} (llm-compressor, vLLM) with 8-bit float weights:
 *     {@code weight_scale} per tensor, per output channel, or per block of the group's
 *     {@code block_structure}.</li>
 * <li>{@code quant_method: "fbgemm_fp8"}: {@code weight_scale} per output channel.</li>
 * </ul>
 *
 * Which of per tensor, per channel or per block a scale is follows from its shape. Activation
 * and KV-cache scales of static schemes ({@code input_scale}, {@code k_scale}, {@code v_scale})
 * are not used: activations stay in float and the KV cache in its own type, so such a checkpoint
 * computes the weights' exact values with unrounded activations. Any other method (GPTQ, AWQ,
 * bitsandbytes, integer compressed-tensors, ...) is refused by name.
 *
 * @param method the {@code quant_method}, or null when the checkpoint is not quantized
 * @param blockRows rows of a scale block, or 0 when the configuration names no block structure
 * @param blockCols columns of a scale block, or 0
 */
public record HfQuantization(String method, int blockRows, int blockCols) {

    /** Not quantized. */
    public static final HfQuantization NONE = new HfQuantization(null, 0, 0);

    static final String SUPPORTED = "fp8, fbgemm_fp8, compressed-tensors with 8-bit float weights";

    private static final ObjectMapper JSON = new ObjectMapper();

    public boolean quantized() {
        return method != null;
    }

    /** The checkpoint's quantization, from {@code config.json} in {@code dir}. */
    public static HfQuantization read(Path configJson) throws IOException {
        return parse(configJson, JSON.readTree(configJson.toFile()));
    }

    static HfQuantization parse(Path file, JsonNode root) throws ModelFormatException {
        JsonNode q = root == null ? null : root.get("quantization_config");
        if (q == null || q.isNull()) {
            return NONE;
        }
        String field = "quantization_config";
        if (!q.isObject()) {
            throw new ModelFormatException(file, field, "is not a JSON object");
        }
        String method = q.path("quant_method").asText("").toLowerCase(Locale.ROOT);
        return switch (method) {
            case "fp8" -> {
                // the tensors' dtypes (F8_E4M3, F8_E5M2) say how each is read
                String fmt = q.path("fmt").asText("e4m3");
                if (!fmt.equals("e4m3") && !fmt.equals("e5m2")) {
                    throw new ModelFormatException(file, field + ".fmt", "'" + fmt + "' is not supported (FP8 weights "
                            + "are read in E4M3 or E5M2)");
                }
                int[] block = block(file, q.get("weight_block_size"), field + ".weight_block_size");
                yield new HfQuantization(method, block[0], block[1]);
            }
            case "fbgemm_fp8" -> new HfQuantization(method, 0, 0);
            case "compressed-tensors" -> compressedTensors(file, q, field);
            case "" -> throw new ModelFormatException(file, field + ".quant_method", "is missing (supported: "
                    + SUPPORTED + ")");
            default -> throw new ModelFormatException(file, field + ".quant_method", "'" + method
                    + "' is not supported (supported: " + SUPPORTED + ")");
        };
    }

    /** compressed-tensors: every group's weights must be 8-bit floats; a block strategy names its block. */
    private static HfQuantization compressedTensors(Path file, JsonNode q, String field) throws ModelFormatException {
        JsonNode groups = q.path("config_groups");
        if (!groups.isObject() || groups.isEmpty()) {
            throw new ModelFormatException(file, field + ".config_groups", "is missing or empty");
        }
        int[] block = {0, 0};
        for (Iterator<Map.Entry<String, JsonNode>> it = groups.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> g = it.next();
            String where = field + ".config_groups." + g.getKey() + ".weights";
            JsonNode w = g.getValue().path("weights");
            String type = w.path("type").asText("");
            int bits = w.path("num_bits").asInt(0);
            if (!type.equals("float") || bits != 8) {
                throw new ModelFormatException(file, where, bits + "-bit " + (type.isEmpty() ? "?" : type)
                        + " weights are not supported (supported: " + SUPPORTED + ")");
            }
            String strategy = w.path("strategy").asText("tensor");
            switch (strategy) {
                case "tensor", "channel" -> { }
                case "block" -> block = block(file, w.get("block_structure"), where + ".block_structure");
                default -> throw new ModelFormatException(file, where + ".strategy", "'" + strategy
                        + "' is not supported (supported: tensor, channel, block)");
            }
        }
        return new HfQuantization("compressed-tensors", block[0], block[1]);
    }

    private static int[] block(Path file, JsonNode b, String field) throws ModelFormatException {
        if (b == null || b.isNull()) {
            return new int[] {0, 0};
        }
        if (!b.isArray() || b.size() != 2 || !b.get(0).isIntegralNumber() || !b.get(1).isIntegralNumber()
                || b.get(0).asInt() <= 0 || b.get(1).asInt() <= 0) {
            throw new ModelFormatException(file, field, "expected two positive integers [rows, columns], got " + b);
        }
        return new int[] {b.get(0).asInt(), b.get(1).asInt()};
    }
}
