package io.tessera.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The E4M3 and E5M2 codecs over all 256 codes against a float64 reference written from the OCP
 * 8-bit floating point specification's definition (sign, exponent bias, subnormals), the
 * specification's named values, and encoding against a brute-force nearest-code search.
 */
class Float8Test {

    /** The value of a code from the specification's formula, in double; NaN and infinities as the format says. */
    private static double reference(int code, int ebits, int mbits, boolean ieeeSpecials) {
        int bias = (1 << (ebits - 1)) - 1;
        int sign = (code >> 7) & 1;
        int e = (code >> mbits) & ((1 << ebits) - 1);
        int m = code & ((1 << mbits) - 1);
        double s = sign == 1 ? -1 : 1;
        if (ieeeSpecials && e == (1 << ebits) - 1) {
            return m == 0 ? s * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (!ieeeSpecials && e == (1 << ebits) - 1 && m == (1 << mbits) - 1) {
            return Double.NaN; // E4M3FN: only S.1111.111 is NaN, no infinities
        }
        if (e == 0) {
            return s * m * Math.pow(2, 1 - bias - mbits);
        }
        return s * (1 + m / (double) (1 << mbits)) * Math.pow(2, e - bias);
    }

    private static double e4m3Reference(int code) {
        return reference(code, 4, 3, false);
    }

    private static double e5m2Reference(int code) {
        return reference(code, 5, 2, true);
    }

    @Test
    void decodesEveryCodeExactly() {
        for (int c = 0; c < 256; c++) {
            assertSameValue(e4m3Reference(c), Float8.e4m3ToFloat((byte) c), "E4M3 code " + c);
            assertSameValue(e5m2Reference(c), Float8.e5m2ToFloat((byte) c), "E5M2 code " + c);
        }
    }

    /** Named values of the specification (OFP8 v1.0, tables 1 and 2). */
    @Test
    void specificationValues() {
        assertEquals(448f, Float8.e4m3ToFloat((byte) 0x7E), "E4M3 max normal S.1111.110");
        assertEquals(-448f, Float8.e4m3ToFloat((byte) 0xFE));
        assertEquals(0x1p-6f, Float8.e4m3ToFloat((byte) 0x08), "E4M3 min normal S.0001.000");
        assertEquals(0x1p-9f, Float8.e4m3ToFloat((byte) 0x01), "E4M3 min subnormal S.0000.001");
        assertEquals(0.875f * 0x1p-6f, Float8.e4m3ToFloat((byte) 0x07), "E4M3 max subnormal S.0000.111");
        assertTrue(Float.isNaN(Float8.e4m3ToFloat((byte) 0x7F)), "E4M3 NaN S.1111.111");
        assertTrue(Float.isNaN(Float8.e4m3ToFloat((byte) 0xFF)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Float8.e4m3ToFloat((byte) 0x80)));
        assertEquals(57344f, Float8.e5m2ToFloat((byte) 0x7B), "E5M2 max normal S.11110.11");
        assertEquals(0x1p-14f, Float8.e5m2ToFloat((byte) 0x04), "E5M2 min normal S.00001.00");
        assertEquals(0x1p-16f, Float8.e5m2ToFloat((byte) 0x01), "E5M2 min subnormal S.00000.01");
        assertEquals(0.75f * 0x1p-14f, Float8.e5m2ToFloat((byte) 0x03), "E5M2 max subnormal S.00000.11");
        assertEquals(Float.POSITIVE_INFINITY, Float8.e5m2ToFloat((byte) 0x7C));
        assertEquals(Float.NEGATIVE_INFINITY, Float8.e5m2ToFloat((byte) 0xFC));
        for (int c : new int[] {0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}) {
            assertTrue(Float.isNaN(Float8.e5m2ToFloat((byte) c)), "E5M2 NaN " + c);
        }
        // E5M2 is the upper byte of an IEEE half
        for (int c = 0; c < 256; c++) {
            assertSameValue(Float.float16ToFloat((short) (c << 8)), Float8.e5m2ToFloat((byte) c), "half of " + c);
        }
    }

    @Test
    void everyCodeEncodesToItself() {
        for (int c = 0; c < 256; c++) {
            float e4 = Float8.e4m3ToFloat((byte) c);
            byte back = Float8.floatToE4m3(e4);
            if (Float.isNaN(e4)) {
                assertTrue(Float8.isE4m3NaN(back), "NaN stays NaN: " + c);
            } else {
                assertEquals((byte) c, back, "E4M3 code " + c);
            }
            float e5 = Float8.e5m2ToFloat((byte) c);
            byte back5 = Float8.floatToE5m2(e5);
            if (Float.isNaN(e5)) {
                assertTrue(Float.isNaN(Float8.e5m2ToFloat(back5)), "E5M2 NaN " + c);
            } else if (Float.isInfinite(e5)) {
                assertEquals(c < 0x80 ? (byte) 0x7B : (byte) 0xFB, back5, "infinity saturates: " + c);
            } else {
                assertEquals((byte) c, back5, "E5M2 code " + c);
            }
        }
    }

    /** Saturation: beyond the largest finite value, and infinities, give the largest of the sign. */
    @Test
    void saturates() {
        for (float v : new float[] {448.5f, 464f, 479.9f, 480f, 1000f, 1e30f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertEquals((byte) 0x7E, Float8.floatToE4m3(v), "E4M3 " + v);
            assertEquals((byte) 0xFE, Float8.floatToE4m3(-v), "E4M3 " + -v);
        }
        for (float v : new float[] {57345f, 61440f, 65504f, 1e30f, Float.POSITIVE_INFINITY}) {
            assertEquals((byte) 0x7B, Float8.floatToE5m2(v), "E5M2 " + v);
            assertEquals((byte) 0xFB, Float8.floatToE5m2(-v), "E5M2 " + -v);
        }
        assertEquals((byte) 0x7F, Float8.floatToE4m3(Float.NaN));
        assertEquals((byte) 0xFF, Float8.floatToE4m3(Float.intBitsToFloat(0xFFC00000)), "a negative NaN keeps its sign");
        assertTrue(Float.isNaN(Float8.e5m2ToFloat(Float8.floatToE5m2(Float.NaN))));
        // ties: 464 lies between 448 and 480 (not a code): saturated; 17 lies between 16 and 18: even mantissa 16
        assertEquals(16f, Float8.e4m3ToFloat(Float8.floatToE4m3(17f)));
        assertEquals(20f, Float8.e4m3ToFloat(Float8.floatToE4m3(19f)), "between 18 (odd) and 20 (even)");
        // below half the smallest subnormal: zero of the same sign; exactly half: ties to even (zero)
        assertEquals((byte) 0x00, Float8.floatToE4m3(0x1p-10f));
        assertEquals((byte) 0x80, Float8.floatToE4m3(-0x1p-10f));
        assertEquals((byte) 0x01, Float8.floatToE4m3(Math.nextUp(0x1p-10f)));
        assertEquals((byte) 0x02, Float8.floatToE4m3(3 * 0x1p-10f), "1.5 subnormal steps: to the even 2");
    }

    /** Encoding is the nearest code, ties to the even code, for random floats over every binade and midpoints. */
    @Test
    void encodesToTheNearestCodeTiesToEven() {
        Random rnd = new Random(8);
        for (int i = 0; i < 200_000; i++) {
            float v = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(rnd.nextInt()) % 70000f;
                case 1 -> (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 25));
                default -> midpoint(rnd.nextInt(256), rnd.nextBoolean());
            };
            if (Float.isNaN(v)) {
                continue;
            }
            assertEquals(nearest(v, c -> Float8.e4m3ToFloat((byte) c), 448), Float8.floatToE4m3(v), "E4M3 of " + v);
            assertEquals(nearest(v, c -> Float8.e5m2ToFloat((byte) c), 57344), Float8.floatToE5m2(v), "E5M2 of " + v);
        }
    }

    /** Halfway between E4M3 code c and the next (a float: 4 mantissa bits are plenty). */
    private static float midpoint(int c, boolean e5m2) {
        IntFunction<Float> dec = e5m2 ? k -> Float8.e5m2ToFloat((byte) k) : k -> Float8.e4m3ToFloat((byte) k);
        int m = c & 0x7F;
        float a = dec.apply(m);
        float b = dec.apply(Math.min(m + 1, 0x7F));
        float mid = (a + b) / 2;
        return (c & 0x80) != 0 ? -mid : mid;
    }

    /**
     * The code a brute-force search picks: the finite code nearest v after clamping to ±max, ties
     * to the code with an even mantissa (the even last bit), zero taking v's sign.
     */
    private static byte nearest(float v, IntFunction<Float> decode, double max) {
        double x = Math.max(-max, Math.min(max, v));
        int best = -1;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int c = 0; c < 256; c++) {
            double d = decode.apply(c);
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                continue;
            }
            if ((Double.doubleToRawLongBits(d) < 0) != (Double.doubleToRawLongBits(x) < 0)) {
                continue; // the sign is v's, for zeros too
            }
            double err = Math.abs(d - x);
            if (err < bestErr || (err == bestErr && (c & 1) == 0)) {
                best = c;
                bestErr = err;
            }
        }
        return (byte) best;
    }

    private static void assertSameValue(double want, float got, String what) {
        if (Double.isNaN(want)) {
            assertTrue(Float.isNaN(got), what + ": NaN, got " + got);
        } else {
            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), what + ": " + want + " vs " + got);
        }
    }
}
