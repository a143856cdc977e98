package io.tessera.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Round trips of every codec within a tolerance derived from its format, and hand-built blocks
 * that must decode to exactly known values.
 */
class QuantCodecTest {

    private static final int GUARD = 7; // odd offset: blocks sit unaligned in files

    static GgmlType[] types() {
        return QuantCodec.SUPPORTED.toArray(GgmlType[]::new);
    }

    /** Largest error of rounding a positive value v to f16: half an ulp, or half the subnormal step. */
    static double f16Err(double v) {
        return Math.max(Math.abs(v) * 0x1p-11, 0x1p-25);
    }

    /**
     * The per-block tolerance of each format for the values {@code x[from .. from + blockSize)}:
     * <ul>
     * <li>F32 exact; F16 half an f16 ulp; BF16 half a bf16 ulp (2^-8 relative).
     * <li>Q8_0: d = amax/127, error within d/2 plus 127 times the f16 rounding of d.
     * <li>Q4_0: d = amax/8; the value of opposite sign to the extreme may clamp from level 16 to 15,
     * so the bound is d (not d/2) plus 8 times the f16 rounding of d.
     * <li>Q4_1: d = (max-min)/15: d/2, plus 15 times the rounding of d and the rounding of min.
     * <li>Q4_K: half a sub-block step; the step is at most (range + dmin)/15 + d with
     * dmin ~ |min|/63 and d ~ max step/63, both rounded up to f16.
     * <li>Q6_K: half a sub-block step; the step is at most amax/31 + d, d ~ amax/(31*127) rounded up.
     * </ul>
     */
    static double tolerance(GgmlType type, float[] x, int from, int v) {
        int bs = type.blockSize();
        double amax = 0;
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (int i = from; i < from + bs; i++) {
            amax = Math.max(amax, Math.abs(x[i]));
            min = Math.min(min, x[i]);
            max = Math.max(max, x[i]);
        }
        double eps = 1e-6 * amax + 1e-30;
        return switch (type) {
            case F32 -> 0;
            case F16 -> f16Err(x[v]);
            case BF16 -> Math.abs(x[v]) * 0x1p-8;
            case Q8_0 -> amax / 127 * 0.5 + 127 * f16Err(amax / 127) + eps;
            case Q4_0 -> amax / 8 + 8 * f16Err(amax / 8) + eps;
            case Q4_1 -> (max - min) / 15 * 0.5 + 15 * f16Err((max - min) / 15) + f16Err(min) + eps;
            case Q4_K -> {
                double rangeMax = 0;
                double negMin = 0;
                for (int j = 0; j < 8; j++) {
                    double lo = 0;
                    double hi = -Double.MAX_VALUE;
                    for (int l = 0; l < 32; l++) {
                        lo = Math.min(lo, x[from + 32 * j + l]);
                        hi = Math.max(hi, x[from + 32 * j + l]);
                    }
                    rangeMax = Math.max(rangeMax, hi - lo);
                    negMin = Math.max(negMin, -lo);
                }
                double dmin = negMin / 63 * (1 + 0x1p-10) + 0x1p-24;
                double needed = (rangeMax + dmin) / 15;
                double d = needed / 63 * (1 + 0x1p-10) + 0x1p-24;
                yield 0.5 * (needed + d) * 1.0001 + eps;
            }
            case Q6_K -> {
                double d = amax / 31 / 127 * (1 + 0x1p-10) + 0x1p-24;
                yield 0.5 * (amax / 31 + d) * 1.0001 + eps;
            }
            default -> throw new IllegalArgumentException(type.name());
        };
    }

    /** Odd number of blocks; blocks of Gaussians, all zeros, negative only, positive only, one outlier. */
    static float[] testRow(GgmlType type, Random rnd, double magnitude) {
        int bs = Math.max(type.blockSize(), 32);
        int blocks = 7;
        float[] x = new float[bs * blocks];
        for (int b = 0; b < blocks; b++) {
            for (int i = b * bs; i < (b + 1) * bs; i++) {
                double g = rnd.nextGaussian() * magnitude;
                x[i] = (float) switch (b) {
                    case 1 -> 0;
                    case 2 -> -Math.abs(g) - magnitude * 0.1;
                    case 3 -> Math.abs(g) + magnitude * 0.5;
                    case 4 -> i == b * bs + 5 ? 20 * magnitude : g;
                    case 5 -> g - 3 * magnitude; // mostly negative, shifted
                    default -> g;
                };
            }
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("types")
    void roundTripStaysWithinTheFormatsTolerance(GgmlType type) {
        QuantCodec codec = QuantCodec.of(type);
        assertEquals(type, codec.type());
        Random rnd = new Random(42 + type.id());
        for (double magnitude : new double[] {1e-3, 1, 100}) {
            for (int rep = 0; rep < 5; rep++) {
                float[] x = testRow(type, rnd, magnitude);
                int n = x.length;
                long bytes = type.bytesFor(n);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment seg = arena.allocate(bytes + 2 * GUARD);
                    seg.fill((byte) 0x5A);
                    codec.quantizeRow(x, 0, n, seg, GUARD);
                    for (int g = 0; g < GUARD; g++) {
                        assertEquals((byte) 0x5A, seg.get(ValueLayout.JAVA_BYTE, g), "wrote before its bytes");
                        assertEquals((byte) 0x5A, seg.get(ValueLayout.JAVA_BYTE, GUARD + bytes + g), "wrote past its bytes");
                    }
                    float[] y = new float[n + 3];
                    codec.dequantizeRow(seg, GUARD, y, 3, n);
                    int bs = type.blockSize();
                    for (int i = 0; i < n; i++) {
                        int from = i / bs * bs;
                        double tol = tolerance(type, x, from, i);
                        double err = Math.abs(y[3 + i] - x[i]);
                        if (err > tol) {
                            throw new AssertionError(type + " magnitude " + magnitude + " element " + i + ": " + x[i]
                                    + " decoded as " + y[3 + i] + ", error " + err + " > tolerance " + tol);
                        }
                    }
                    // All-zero blocks decode to exact zeros in every format.
                    int zeroBlock = Math.max(type.blockSize(), 32);
                    for (int i = zeroBlock; i < 2 * zeroBlock; i++) {
                        assertEquals(0f, y[3 + i], 0f, type + " zero block");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void rejectsPartialBlocks(GgmlType type) {
        if (type.blockSize() == 1) {
            return;
        }
        QuantCodec codec = QuantCodec.of(type);
        MemorySegment seg = MemorySegment.ofArray(new byte[1024]);
        assertThrows(IllegalArgumentException.class, () -> codec.dequantizeRow(seg, 0, new float[64], 0, 17));
    }

    @Test
    void unsupportedTypeHasNoCodec() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantCodec.of(GgmlType.Q5_K));
        assertTrue(e.getMessage().contains("Q5_K"), e.getMessage());
    }

    // ---- hand-built blocks

    private static MemorySegment block(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return MemorySegment.ofArray(b);
    }

    private static float[] decode(GgmlType type, MemorySegment seg, int n) {
        float[] y = new float[n];
        QuantCodec.of(type).dequantizeRow(seg, 0, y, 0, n);
        return y;
    }

    @Test
    void q8_0BlockDecodesToQuantsTimesScale() {
        int[] b = new int[34];
        b[0] = 0x00; // d = 0.5 = f16 0x3800, little-endian
        b[1] = 0x38;
        for (int j = 0; j < 32; j++) {
            b[2 + j] = j * 8 - 128; // int8 -128, -120, ... 120
        }
        float[] y = decode(GgmlType.Q8_0, block(b), 32);
        for (int j = 0; j < 32; j++) {
            assertEquals((j * 8 - 128) * 0.5f, y[j], 0f);
        }
        assertEquals(-64f, y[0], 0f);
    }

    @Test
    void q4_0BlockUsesLowNibblesFirstThenHighNibbles() {
        int[] b = new int[18];
        b[1] = 0x40; // d = 2.0
        for (int j = 0; j < 16; j++) {
            b[2 + j] = j | ((15 - j) << 4);
        }
        float[] y = decode(GgmlType.Q4_0, block(b), 32);
        for (int j = 0; j < 16; j++) {
            assertEquals((j - 8) * 2f, y[j], 0f, "element " + j);
            assertEquals((15 - j - 8) * 2f, y[16 + j], 0f, "element " + (16 + j));
        }
        assertEquals(-16f, y[0], 0f);
        assertEquals(14f, y[16], 0f);
    }

    @Test
    void q4_1BlockIsNibbleTimesScalePlusMin() {
        int[] b = new int[20];
        b[1] = 0x34; // d = 0.25
        b[3] = 0xBC; // m = -1.0
        for (int j = 0; j < 16; j++) {
            b[4 + j] = j | ((15 - j) << 4);
        }
        float[] y = decode(GgmlType.Q4_1, block(b), 32);
        for (int j = 0; j < 16; j++) {
            assertEquals(j * 0.25f - 1, y[j], 0f);
            assertEquals((15 - j) * 0.25f - 1, y[16 + j], 0f);
        }
    }

    /**
     * Scales and mins chosen to exercise all the 6-bit packing: sub-blocks 4..7 take their high
     * bits from the top of bytes 0..7. Bytes worked out by hand from the get_scale_min_k4 layout.
     */
    @Test
    void q4_KHandPackedBlock() {
        int[] sc = {1, 2, 3, 4, 17, 33, 63, 0};
        int[] m = {5, 6, 7, 8, 16, 48, 1, 63};
        int[] b = new int[144];
        b[1] = 0x3C; // d = 1.0
        b[3] = 0x38; // dmin = 0.5
        int[] scales = {0x41, 0x82, 0xC3, 0x04, 0x45, 0xC6, 0x07, 0xC8, 0x01, 0x01, 0x1F, 0xF0};
        System.arraycopy(scales, 0, b, 4, 12);
        for (int l = 0; l < 128; l++) {
            b[16 + l] = (l & 0xF) | ((15 - (l & 0xF)) << 4);
        }
        float[] y = decode(GgmlType.Q4_K, block(b), 256);
        for (int i = 0; i < 256; i++) {
            int c = i / 64;
            int r = i % 64;
            int sub = r < 32 ? 2 * c : 2 * c + 1;
            int q = r < 32 ? (r & 0xF) : 15 - ((r - 32) & 0xF);
            assertEquals(sc[sub] * q - 0.5f * m[sub], y[i], 0f, "element " + i);
        }
        assertEquals(-2.5f, y[0], 0f);
        assertEquals(0.5f, y[3], 0f);
        assertEquals(25f, y[33], 0f);
        assertEquals(306f, y[165], 0f);
        assertEquals(629.5f, y[202], 0f);
        assertEquals(-31.5f, y[255], 0f);
    }

    /** Independent per-element reading of a Q4_K block: 6-bit fields at their bit positions. */
    private static float q4kOracle(byte[] blk, int i) {
        float d = Float.float16ToFloat((short) ((blk[0] & 0xFF) | (blk[1] & 0xFF) << 8));
        float dmin = Float.float16ToFloat((short) ((blk[2] & 0xFF) | (blk[3] & 0xFF) << 8));
        int j = i / 32;
        int[] s = new int[12];
        for (int k = 0; k < 12; k++) {
            s[k] = blk[4 + k] & 0xFF;
        }
        int scale = j < 4 ? s[j] & 63 : (s[8 + j - 4] & 15) + 16 * (s[j - 4] >> 6);
        int min = j < 4 ? s[4 + j] & 63 : (s[8 + j - 4] >> 4) + 16 * (s[j] >> 6);
        int byteIndex = 32 * (i / 64) + i % 32;
        int q = j % 2 == 0 ? blk[16 + byteIndex] & 15 : (blk[16 + byteIndex] & 0xFF) >> 4;
        return d * scale * q - dmin * min;
    }

    /** Per-element reading of a Q6_K block as the format describes it. */
    private static float q6kOracle(byte[] blk, int i) {
        int half = i / 128;
        int r = i % 128;
        int g = r / 32;
        int l = r % 32;
        int low = blk[64 * half + l + (g % 2) * 32] & 0xFF;
        int lowBits = g < 2 ? low & 15 : low >> 4;
        int highBits = ((blk[128 + 32 * half + l] & 0xFF) >> (2 * g)) & 3;
        int q = lowBits | highBits << 4;
        float d = Float.float16ToFloat((short) ((blk[208] & 0xFF) | (blk[209] & 0xFF) << 8));
        return d * blk[192 + i / 16] * (q - 32);
    }

    @Test
    void randomKBlocksDecodeAsTheFormatDescribes() {
        Random rnd = new Random(7);
        for (int rep = 0; rep < 50; rep++) {
            byte[] k4 = new byte[144];
            rnd.nextBytes(k4);
            short d = Float.floatToFloat16((float) rnd.nextGaussian());
            short dmin = Float.floatToFloat16((float) rnd.nextGaussian());
            k4[0] = (byte) d;
            k4[1] = (byte) (d >> 8);
            k4[2] = (byte) dmin;
            k4[3] = (byte) (dmin >> 8);
            float[] y = decode(GgmlType.Q4_K, MemorySegment.ofArray(k4), 256);
            for (int i = 0; i < 256; i++) {
                assertEquals(q4kOracle(k4, i), y[i], Math.abs(y[i]) * 1e-6, "Q4_K element " + i);
            }
            byte[] k6 = new byte[210];
            rnd.nextBytes(k6);
            k6[208] = (byte) d;
            k6[209] = (byte) (d >> 8);
            y = decode(GgmlType.Q6_K, MemorySegment.ofArray(k6), 256);
            for (int i = 0; i < 256; i++) {
                assertEquals(q6kOracle(k6, i), y[i], Math.abs(y[i]) * 1e-6, "Q6_K element " + i);
            }
        }
    }

    @Test
    void q6_KHandBuiltBlock() {
        byte[] blk = new byte[210];
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) {
            q[i] = (i * 7) % 64;
            int half = i / 128;
            int r = i % 128;
            int g = r / 32;
            int l = r % 32;
            int lo = 64 * half + l + (g % 2) * 32;
            blk[lo] |= (byte) (g < 2 ? q[i] & 15 : (q[i] & 15) << 4);
            blk[128 + 32 * half + l] |= (byte) ((q[i] >> 4) << (2 * g));
        }
        for (int k = 0; k < 16; k++) {
            blk[192 + k] = (byte) (k - 8);
        }
        blk[209] = 0x38; // d = 0.5
        float[] y = decode(GgmlType.Q6_K, MemorySegment.ofArray(blk), 256);
        for (int i = 0; i < 256; i++) {
            assertEquals(0.5f * (i / 16 - 8) * (q[i] - 32), y[i], 0f, "element " + i);
        }
        assertEquals(128f, y[0], 0f); // 0.5 * -8 * (0 - 32)
        assertEquals(0.5f * 7 * (255 * 7 % 64 - 32), y[255], 0f);
    }

    @Test
    void halfAndBFloat16Rounding() {
        // bf16 ties go to even: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
        assertEquals((short) 0x3F80, BFloat16.fromFloat(Float.intBitsToFloat(0x3F808000)));
        assertEquals((short) 0x3F82, BFloat16.fromFloat(Float.intBitsToFloat(0x3F818000)));
        assertEquals((short) 0x3F81, BFloat16.fromFloat(Float.intBitsToFloat(0x3F808001)));
        assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.toFloat(BFloat16.fromFloat(Float.POSITIVE_INFINITY)));
        assertEquals(-2.5f, BFloat16.toFloat(BFloat16.fromFloat(-2.5f)));
        float v = 0.1f;
        assertTrue(Half.toFloat(Half.fromFloatRoundUp(v)) >= v);
        assertTrue(Half.toFloat(Half.fromFloatRoundUp(1e-9f)) > 0);
        assertEquals(1f, Half.toFloat(Half.fromFloatRoundUp(1f)));
    }

    @Test
    void q8_0QuantizerMatchesTheReferenceRounding() {
        float[] x = new float[32];
        x[0] = 127;
        x[1] = -63.5f; // exactly half a step below: C roundf goes away from zero, to -64
        x[2] = 63.5f;
        MemorySegment seg = MemorySegment.ofArray(new byte[34]);
        QuantCodec.of(GgmlType.Q8_0).quantizeRow(x, 0, 32, seg, 0);
        assertEquals(127, seg.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals(-64, seg.get(ValueLayout.JAVA_BYTE, 3));
        assertEquals(64, seg.get(ValueLayout.JAVA_BYTE, 4));
        float[] y = decode(GgmlType.Q8_0, seg, 32);
        assertArrayEquals(new float[] {127, -64, 64}, java.util.Arrays.copyOf(y, 3), 0f);
    }
}
