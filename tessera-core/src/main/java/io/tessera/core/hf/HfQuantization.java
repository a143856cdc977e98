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
 * and int8 weights as compressed-tensors' W8A8 scheme stores them (llm-compressor's SmoothQuant/GPTQ
 * int8 output, what vLLM serves with its int8 kernels, and what {@code tessera quantize} writes):
 * {@code type: "int"}, 8 bits, symmetric, {@code weight_scale} per output channel or per tensor;
 * they run as {@code GgmlType.W8A8}, activations rounded to int8 per token whatever the group's
 * {@code input_activations} say (dynamic per-token is the scheme vLLM runs; a static
 * {@code input_scale} is not used). Tessera's own key {@code tessera_outlier_threshold} (written by
 * {@code quantize --outlier-threshold}) turns on the LLM.int8() decomposition; other loaders ignore it.
 *
 * <p>Which of per tensor, per channel or per block a scale is follows from its shape. Activation
 * and KV-cache scales of static schemes ({@code input_scale}, {@code k_scale}, {@code v_scale})
 * are not used: activations stay in float and the KV cache in its own type, so such a checkpoint
 * computes the weights' exact values with unrounded activations. Any other method (GPTQ, AWQ,
 * bitsandbytes, integer compressed-tensors other than symmetric 8-bit per channel, ...) is refused by name.
 *
 * @param method the {@code quant_method}, or null when the checkpoint is not quantized
 * @param blockRows rows of a scale block, or 0 when the configuration names no block structure
 * @param blockCols columns of a scale block, or 0
 * @param int8 whether the weights are int8 (compressed-tensors {@code int-quantized}) rather than FP8
 * @param outlierThreshold the LLM.int8() threshold of int8 weights' activations, 0 for none
 */
public record HfQuantization(String method, int blockRows, int blockCols, boolean int8, float outlierThreshold) {

    /** Not quantized. */
    public static final HfQuantization NONE = new HfQuantization(null, 0, 0);

    /** Tessera's key in a compressed-tensors {@code quantization_config}: the LLM.int8() threshold. */
    public static final String OUTLIER_THRESHOLD_KEY = "tessera_outlier_threshold";

    static final String SUPPORTED = "fp8, fbgemm_fp8, compressed-tensors with 8-bit float weights or symmetric "
            + "8-bit int weights per channel";

    HfQuantization(String method, int blockRows, int blockCols) {
        this(method, blockRows, blockCols, false, 0f);
    }

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

    /**
     * compressed-tensors: every group's weights must be 8-bit floats (a block strategy names its
     * block), or every group's symmetric 8-bit ints per channel or tensor.
     */
    private static HfQuantization compressedTensors(Path file, JsonNode q, String field) throws ModelFormatException {
        JsonNode groups = q.path("config_groups");
        if (!groups.isObject() || groups.isEmpty()) {
            throw new ModelFormatException(file, field + ".config_groups", "is missing or empty");
        }
        int[] block = {0, 0};
        Boolean int8 = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = groups.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> g = it.next();
            String where = field + ".config_groups." + g.getKey() + ".weights";
            JsonNode w = g.getValue().path("weights");
            String type = w.path("type").asText("");
            int bits = w.path("num_bits").asInt(0);
            boolean integer = type.equals("int") && bits == 8;
            if (!(type.equals("float") && bits == 8) && !integer) {
                throw new ModelFormatException(file, where, bits + "-bit " + (type.isEmpty() ? "?" : type)
                        + " weights are not supported (supported: " + SUPPORTED + ")");
            }
            if (int8 != null && int8 != integer) {
                throw new ModelFormatException(file, where, "mixes int8 and FP8 weight groups; Tessera reads one kind "
                        + "per checkpoint");
            }
            int8 = integer;
            String strategy = w.path("strategy").asText("tensor");
            if (integer) {
                if (!w.path("symmetric").asBoolean(true)) {
                    throw new ModelFormatException(file, where + ".symmetric", "asymmetric int8 weights (zero points) "
                            + "are not supported");
                }
                if (!strategy.equals("tensor") && !strategy.equals("channel")) {
                    throw new ModelFormatException(file, where + ".strategy", "'" + strategy + "' is not supported "
                            + "for int8 weights (supported: tensor, channel)");
                }
                continue;
            }
            switch (strategy) {
                case "tensor", "channel" -> { }
                case "block" -> block = block(file, w.get("block_structure"), where + ".block_structure");
                default -> throw new ModelFormatException(file, where + ".strategy", "'" + strategy
                        + "' is not supported (supported: tensor, channel, block)");
            }
        }
        float threshold = 0f;
        JsonNode t = q.get(OUTLIER_THRESHOLD_KEY);
        if (t != null && !t.isNull()) {
            if (!t.isNumber() || !(t.asDouble() > 0) || t.asDouble() > Float.MAX_VALUE || !Boolean.TRUE.equals(int8)) {
                throw new ModelFormatException(file, field + "." + OUTLIER_THRESHOLD_KEY, "must be a positive finite "
                        + "number, and only with int8 weights; got " + t);
            }
            threshold = (float) t.asDouble();
        }
        return new HfQuantization("compressed-tensors", block[0], block[1], Boolean.TRUE.equals(int8), threshold);
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
