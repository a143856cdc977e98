package io.tessera.core.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.quant.Fp8Codec;
import io.tessera.core.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * The scale layouts Tessera writes FP8 checkpoints in, each as its usual producer stores it, so
 * that other loaders read the directory too:
 *
 * <ul>
 * <li>{@link #CHANNEL}: one scale per output channel, {@code weight_scale} of shape [rows, 1],
 *     {@code quant_method: "compressed-tensors"} (llm-compressor's FP8 scheme, weights only); the
 *     same bytes as {@code --quantize FP8}.</li>
 * <li>{@link #BLOCK}: one scale per 128 × 128 block, {@code weight_scale_inv} of shape
 *     [⌈rows/128⌉, ⌈cols/128⌉], {@code quant_method: "fp8"} with {@code weight_block_size}
 *     [128, 128] (DeepSeek-V3, Qwen 3 FP8).</li>
 * </ul>
 *
 * A scale is the largest magnitude it covers divided by 448 ({@link Fp8Codec#scaleFor}), and each
 * value is stored as {@code e4m3(x / scale)}.
 */
public enum Fp8Scales implements LinearQuantization {
    CHANNEL("_scale"),
    BLOCK("_scale_inv");

    /** Rows and columns of a {@link #BLOCK} scale. */
    public static final int BLOCK_SIZE = 128;

    private final String suffix;

    Fp8Scales(String suffix) {
        this.suffix = suffix;
    }

    @Override
    public String suffix() {
        return suffix;
    }

    @Override
    public io.tessera.core.safetensors.SafetensorsDtype dtype() {
        return io.tessera.core.safetensors.SafetensorsDtype.F8_E4M3;
    }

    /** Tessera holds FP8 in blocks of 64 columns. */
    @Override
    public boolean converts(int cols) {
        return cols % Fp8Codec.BLOCK == 0;
    }

    /** channel or block, as a command line gives it. */
    public static Fp8Scales parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "channel" -> CHANNEL;
            case "block" -> BLOCK;
            default -> throw new IllegalArgumentException("unknown FP8 scale layout '" + name
                    + "' (supported: channel, block)");
        };
    }

    @Override
    public Scales of(String name, int rows, int cols, SafetensorsWriter.Rows src) throws IOException {
        int rowsPer = this == CHANNEL ? 1 : BLOCK_SIZE;
        int colsPer = this == CHANNEL ? cols : BLOCK_SIZE;
        int scaleRows = (rows + rowsPer - 1) / rowsPer;
        int scaleCols = (cols + colsPer - 1) / colsPer;
        float[] max = new float[scaleRows * scaleCols];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, row);
            for (int c = 0; c < cols; c++) {
                int i = r / rowsPer * scaleCols + c / colsPer;
                float a = Math.abs(row[c]);
                max[i] = a > max[i] || Float.isNaN(a) ? a : max[i];
            }
        }
        float[] scale = new float[max.length];
        for (int i = 0; i < max.length; i++) {
            try {
                scale[i] = Fp8Codec.scaleFor(max[i]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tensor '" + name + "' cannot be stored as FP8: " + e.getMessage(), e);
            }
        }
        return new Scales(scale, rowsPer, colsPer, scaleRows, scaleCols);
    }

    @Override
    public ObjectNode quantizationConfig(ObjectMapper json, List<String> notConverted) {
        ObjectNode q = json.createObjectNode();
        if (this == BLOCK) {
            q.put("quant_method", "fp8").put("fmt", "e4m3").put("activation_scheme", "dynamic");
            q.putArray("weight_block_size").add(BLOCK_SIZE).add(BLOCK_SIZE);
            var skip = q.putArray("modules_to_not_convert");
            notConverted.forEach(skip::add);
            return q;
        }
        q.put("quant_method", "compressed-tensors").put("format", "float-quantized")
                .put("quantization_status", "compressed");
        ObjectNode group = q.putObject("config_groups").putObject("group_0");
        group.putArray("targets").add("Linear");
        group.putObject("weights").put("num_bits", 8).put("type", "float").put("strategy", "channel")
                .put("symmetric", true).put("dynamic", false);
        group.putNull("input_activations"); // Tessera keeps activations in float: weight-only FP8
        var ignore = q.putArray("ignore").add("lm_head");
        notConverted.forEach(ignore::add);
        return q;
    }

    /** One matrix's scales: {@code scale[(r / rowsPer) · scaleCols + c / colsPer]}. */
    record Scales(float[] scale, int rowsPer, int colsPer, int scaleRows, int scaleCols) {

        long[] shape() {
            return new long[] {scaleRows, scaleCols};
        }

        /** Row {@code r} of the scale tensor. */
        void row(long r, float[] dst) {
            System.arraycopy(scale, (int) r * scaleCols, dst, 0, scaleCols);
        }

        /** A weight row divided by its scales, ready for rounding to E4M3 ({@code Fp8Codec.encodeBlock}'s step). */
        void divide(int r, float[] values) {
            int base = r / rowsPer * scaleCols;
            for (int c = 0; c < values.length; c++) {
                float s = scale[base + c / colsPer];
                values[c] = s == 0 ? 0 : values[c] / s;
            }
        }
    }
}
