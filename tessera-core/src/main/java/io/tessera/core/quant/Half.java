package io.tessera.core.quant;

/**
 * IEEE half-precision helpers beyond {@link Float#float16ToFloat} and {@link Float#floatToFloat16}:
 * quantizers need a block scale whose f16 value is never below the exact one, so that the largest
 * value of the block still fits in the quantized range.
 */
public final class Half {
    private Half() {
    }

    public static float toFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Round to nearest even. */
    public static short fromFloat(float v) {
        return Float.floatToFloat16(v);
    }

    /** The smallest f16 value that is {@code >= v} (for finite, non-negative v within the f16 range). */
    public static short fromFloatRoundUp(float v) {
        short h = Float.floatToFloat16(v);
        if (Float.float16ToFloat(h) < v && (h & 0x7C00) != 0x7C00) {
            h = (short) (h + 1); // positive values: the next bit pattern is the next larger value
        }
        return h;
    }
}
