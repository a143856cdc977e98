package io.tessera.planner.memory;

import java.util.Locale;

/**
 * Weight precisions the planner models, with the plain bytes-per-parameter rule (fp32 4, bf16/fp16
 * 2, fp8/int8 1, int4 0.5). Block scales of quantized formats are not counted here; a GGUF file's
 * real tensor sizes are reported separately when the model comes from one.
 */
public enum Precision {
    FP32(4.0), BF16(2.0), FP16(2.0), FP8(1.0), INT8(1.0), INT4(0.5);

    private final double bytes;

    Precision(double bytes) {
        this.bytes = bytes;
    }

    public double bytesPerParam() {
        return bytes;
    }

    /** The precision kept for the KV cache when none is given: fp32 stays fp32, everything else 16-bit. */
    public Precision defaultKvPrecision() {
        return this == FP32 ? FP32 : this == FP16 ? FP16 : BF16;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Precision parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        return switch (k) {
            case "fp32", "f32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            case "fp16", "f16", "float16", "half" -> FP16;
            case "fp8", "f8", "e4m3" -> FP8;
            case "int8", "i8", "w8a8", "q8", "q8_0" -> INT8;
            case "int4", "i4", "w4a16", "q4", "q4_0" -> INT4;
            default -> throw new IllegalArgumentException("unknown precision '" + s + "' (fp32, bf16, fp16, fp8, int8, int4)");
        };
    }
}
