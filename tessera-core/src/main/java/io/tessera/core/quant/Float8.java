package io.tessera.core.quant;

/**
 * The two 8-bit float formats of the OCP 8-bit floating point specification (OFP8, 2023), as
 * Hugging Face FP8 checkpoints store them (safetensors {@code F8_E4M3} and {@code F8_E5M2}, torch's
 * {@code float8_e4m3fn} and {@code float8_e5m2}).
 *
 * <ul>
 * <li>E4M3 ("fn": finite, no infinities): sign, 4 exponent bits (bias 7), 3 mantissa bits. The
 *     codes {@code 0x7F} and {@code 0xFF} are NaN; every other code is finite, the largest ±448
 *     ({@code 0x7E}); subnormals are multiples of 2^-9.</li>
 * <li>E5M2: sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE-like: exponent 31 with mantissa
 *     0 is ±infinity, with mantissa ≠ 0 NaN; the largest finite value is ±57344 ({@code 0x7B});
 *     subnormals are multiples of 2^-16. It is the upper byte of an IEEE half.</li>
 * </ul>
 *
 * <p>Decoding is exact (every code is a float). Encoding rounds to nearest, ties to even, and
 * saturates as the specification's saturating mode does: a finite value beyond the largest finite
 * one, and an infinity, become the largest finite value of its sign; NaN stays NaN ({@code 0x7F}
 * with the input's sign). torch's cast to {@code float8_e4m3fn} instead turns values of 480 and more
 * into NaN; quantizers clamp to ±448 before casting, so for their inputs the two agree.
 */
public final class Float8 {

    /** The largest finite E4M3 value. */
    public static final float E4M3_MAX = 448f;
    /** The largest finite E5M2 value. */
    public static final float E5M2_MAX = 57344f;

    private static final byte E4M3_NAN = 0x7F;
    private static final byte E4M3_MAX_CODE = 0x7E;
    private static final byte E5M2_NAN = 0x7F;
    private static final byte E5M2_MAX_CODE = 0x7B;

    private Float8() {
    }

    /** Whether an E4M3 code is NaN ({@code 0x7F} or {@code 0xFF}). */
    public static boolean isE4m3NaN(byte code) {
        return (code & 0x7F) == 0x7F;
    }

    /** The exact value of an E4M3 code. */
    public static float e4m3ToFloat(byte code) {
        if (isE4m3NaN(code)) {
            return Float.NaN;
        }
        return decode(code, 3, 7);
    }

    /** The exact value of an E5M2 code. */
    public static float e5m2ToFloat(byte code) {
        int magnitude = code & 0x7F;
        if (magnitude >= 0x7C) {
            if (magnitude > 0x7C) {
                return Float.NaN;
            }
            return code < 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
        }
        return decode(code, 2, 15);
    }

    /** v as E4M3: round to nearest even, saturating at ±448. */
    public static byte floatToE4m3(float v) {
        if (Float.isNaN(v)) {
            return (byte) (E4M3_NAN | signBit(v));
        }
        return encode(v, 3, 7, E4M3_MAX_CODE);
    }

    /** v as E5M2: round to nearest even, saturating at ±57344 (infinities included). */
    public static byte floatToE5m2(float v) {
        if (Float.isNaN(v)) {
            return (byte) (E5M2_NAN | signBit(v));
        }
        return encode(v, 2, 15, E5M2_MAX_CODE);
    }

    private static int signBit(float v) {
        return (Float.floatToRawIntBits(v) >>> 24) & 0x80;
    }

    /** Value of a finite code with {@code mbits} mantissa bits and exponent bias {@code bias}. */
    private static float decode(byte code, int mbits, int bias) {
        int c = code & 0x7F;
        int exponent = c >>> mbits;
        int mantissa = c & ((1 << mbits) - 1);
        // subnormals: mantissa · 2^(1 - bias - mbits); normals: (2^mbits + mantissa) · 2^(exponent - bias - mbits)
        float magnitude = exponent == 0
                ? Math.scalb((float) mantissa, 1 - bias - mbits)
                : Math.scalb((float) ((1 << mbits) + mantissa), exponent - bias - mbits);
        return code < 0 ? -magnitude : magnitude;
    }

    /**
     * A finite or infinite value to the nearest code (ties to the even mantissa), magnitudes beyond
     * {@code maxCode}'s saturated. Every step is exact in double: a float's 24 bits scaled by a power
     * of two, and {@link Math#rint} rounds half to even.
     */
    private static byte encode(float v, int mbits, int bias, byte maxCode) {
        int sign = signBit(v);
        double a = Math.abs((double) v);
        int minNormalExponent = 1 - bias;
        int magnitude;
        if (Double.isInfinite(a)) {
            magnitude = maxCode;
        } else if (a < Math.scalb(1.0, minNormalExponent)) {
            // subnormal range: multiples of 2^(minNormalExponent - mbits); rounding up to 2^mbits
            // gives the smallest normal's code, which is the right one
            magnitude = (int) Math.rint(Math.scalb(a, mbits - minNormalExponent));
        } else {
            int e = Math.getExponent(a);
            long q = (long) Math.rint(Math.scalb(a, mbits - e)); // in [2^mbits, 2^(mbits+1)]
            if (q == 1L << (mbits + 1)) {
                q >>= 1;
                e++;
            }
            long code = ((long) (e + bias) << mbits) | (q - (1L << mbits));
            magnitude = (int) Math.min(code, maxCode);
        }
        return (byte) (sign | magnitude);
    }
}
