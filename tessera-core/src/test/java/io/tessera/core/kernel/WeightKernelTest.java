package io.tessera.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every weight kernel against the plain scalar reference codecs: random weights are encoded with
 * {@link QuantCodec#quantizeRow}, decoded back with {@link QuantCodec#dequantizeRow}, and the
 * kernel's dot products must match the double-precision dot product of the decoded weights to a
 * tolerance relative to Σ|w·x| (the kernels only reorder float additions; the bound is stated per
 * type below). Sizes include tails (float rows not a multiple of 8 or 32) and odd byte offsets.
 */
class WeightKernelTest {

    /** Relative tolerance against Σ|w·x|: float summation error over rows of a few thousand values. */
    private static final double REL_TOL = 2e-6;

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            for (int n : new int[] {1, 7, 8, 31, 33, 64, 100, 257, 2048, 2051}) {
                b.add(Arguments.of(t, n));
            }
        }
        for (int n : new int[] {32, 64, 96, 1024, 2080}) {
            b.add(Arguments.of(GgmlType.Q4_1, n));
        }
        for (int n : new int[] {64, 128, 192, 2048, 4160}) {
            b.add(Arguments.of(GgmlType.FP8, n));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("cases")
    void dotMatchesScalarReference(GgmlType type, int n) {
        Random rnd = new Random(type.ordinal() * 1000L + n);
        Rows w = Rows.random(type, n, 5, rnd);
        MemorySegment seg = w.seg();
        float[][] ref = w.ref();
        int rows = ref.length;
        int tokens = 6;
        float[] x = new float[tokens * n + 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        FloatDotKernel k = (FloatDotKernel) WeightKernel.of(type);
        for (int r = 0; r < rows; r++) {
            long off = w.offset(r);
            float[] decoded = new float[n + 2];
            k.decodeRow(seg, off, decoded, 2, n);
            for (int i = 0; i < n; i++) {
                assertEquals(ref[r][i], decoded[2 + i], Math.abs(ref[r][i]) * 1e-6 + 1e-9, "decodeRow " + i);
            }
            for (int t = 0; t < tokens; t++) {
                int xOff = t * n + 1;
                double exact = 0;
                double mag = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) ref[r][i] * x[xOff + i];
                    mag += Math.abs((double) ref[r][i] * x[xOff + i]);
                }
                float got = k.dot(seg, off, x, xOff, n);
                assertEquals(exact, got, mag * REL_TOL + 1e-12, type + " row " + r + " token " + t);
            }
        }
    }

    static Stream<Arguments> integerCases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            for (int n : new int[] {32, 64, 96, 1024, 2080}) {
                b.add(Arguments.of(t, n));
            }
        }
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q6_K}) {
            for (int n : new int[] {256, 512, 2304}) {
                b.add(Arguments.of(t, n));
            }
        }
        return b.build();
    }

    /**
     * The integer kernels against the same references, with the activations rounded to 8 bits: the
     * dot product must match the double-precision product of the decoded weights with the rounded
     * activations (d·q), the rounding itself must stay within half a step, and decodeShorts must give
     * integers and scales whose products are the stored weights.
     */
    @ParameterizedTest(name = "{0} n={1}")
    @MethodSource("integerCases")
    void integerDotMatchesScalarReference(GgmlType type, int n) {
        Random rnd = new Random(type.ordinal() * 1000L + n);
        Rows w = Rows.random(type, n, 5, rnd);
        MemorySegment seg = w.seg();
        float[][] ref = w.ref();
        int rows = ref.length;
        int tokens = 4;
        float[] x = new float[tokens * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 20 : 1)); // some outliers
        }
        Arrays.fill(x, n, n + 32, 0f); // an all-zero block: token 1's first
        Q8Activations xq = new Q8Activations();
        xq.quantize(x, tokens, n, true, false);
        for (int i = 0; i < x.length; i++) {
            float d = xq.scale[i / 32];
            assertTrue(Math.abs(xq.q[i]) <= 127, "rounded value " + xq.q[i]);
            assertTrue(Math.abs(x[i] - d * xq.q[i]) <= d * 0.5f * (1 + 1e-6f), "rounding of " + x[i] + " by " + d);
            assertEquals(d, Q8Activations.roundUp(d), "a scale of few bits: " + d);
        }
        for (int b = 0; b < x.length / 32; b++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                sum += xq.q[b * 32 + j];
            }
            assertEquals(xq.scale[b] * sum, xq.sums[b], "sum of block " + b);
            int t = b / (n / 32);
            assertEquals(xq.sums[b], xq.sumsByGroup[(t / 8 * (n / 32) + b % (n / 32)) * 8 + t % 8], "grouped sum " + b);
        }
        Q8DotKernel k = (Q8DotKernel) WeightKernel.of(type);
        short[] ints = new short[7 + n];
        float[] scales = new float[3 + n / 16];
        float[] mins = new float[5 + n / 32];
        for (int r = 0; r < rows; r++) {
            long off = w.offset(r);
            k.decodeShorts(seg, off, ints, 7, scales, 3, n);
            if (k.hasMins()) {
                k.decodeMins(seg, off, mins, 5, n);
            }
            for (int i = 0; i < n; i++) {
                float scale = scales[3 + i / (32 / k.scalesPerBlock())];
                assertEquals(ref[r][i], ints[7 + i] * scale - mins[5 + i / 32], "decodeShorts " + i);
            }
            for (int t = 0; t < tokens; t++) {
                double exact = 0;
                double mag = 0;
                double rounding = 0;
                double unrounded = 0;
                for (int i = 0; i < n; i++) {
                    double xi = (double) xq.scale[(t * n + i) / 32] * xq.q[t * n + i];
                    exact += ref[r][i] * xi;
                    mag += Math.abs(ref[r][i] * xi);
                    rounding += Math.abs(ref[r][i]) * xq.scale[(t * n + i) / 32] * 0.5;
                    unrounded += (double) ref[r][i] * x[t * n + i];
                }
                float got = k.dot(seg, off, xq, t * n, n);
                assertEquals(exact, got, mag * REL_TOL + 1e-12, type + " row " + r + " token " + t);
                assertEquals(unrounded, got, rounding * (1 + 1e-5) + mag * REL_TOL + 1e-12,
                        type + " row " + r + " token " + t + " against the unrounded activations");
            }
        }
    }

    /**
     * Rows of random weights encoded with the reference codec at an odd offset (the mapped data of a
     * tensor may sit anywhere), and the codec's decoded floats of each.
     */
    private record Rows(GgmlType type, MemorySegment seg, float[][] ref) {
        static final long BASE = 3;

        static Rows random(GgmlType type, int n, int rows, Random rnd) {
            long rowBytes = type.bytesFor(n);
            MemorySegment seg = Arena.ofAuto().allocate(BASE + rows * rowBytes + 64, 1);
            QuantCodec codec = QuantCodec.of(type);
            float[][] ref = new float[rows][n];
            for (int r = 0; r < rows; r++) {
                float[] src = new float[n];
                for (int i = 0; i < n; i++) {
                    src[i] = (float) (rnd.nextGaussian() * 0.05 * (1 + r));
                }
                codec.quantizeRow(src, 0, n, seg, BASE + r * rowBytes);
                codec.dequantizeRow(seg, BASE + r * rowBytes, ref[r], 0, n);
            }
            return new Rows(type, seg, ref);
        }

        long offset(int r) {
            return BASE + r * type.bytesFor(ref[0].length);
        }
    }

    static Stream<GgmlType> types() {
        return Stream.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.FP8);
    }

    /** A token's outputs do not depend on the batch it shares, the tiling, or the thread count. */
    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        types().forEach(t -> {
            b.add(Arguments.of(t, 512));
            b.add(Arguments.of(t, MatMul.KC + 256)); // two panels
        });
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            b.add(Arguments.of(t, 172)); // a tail after the lanes
            b.add(Arguments.of(t, 300)); // 8-value vectors and a tail after the groups
            b.add(Arguments.of(t, MatMul.KC + 44)); // all of it in the second panel
            b.add(Arguments.of(t, 5)); // no lanes at all
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} in={1}")
    @MethodSource("shapes")
    void matmulIsBatchInvariant(GgmlType type, int in) {
        int rows = 75; // not a multiple of the row grain or band
        Random rnd = new Random(7 + type.ordinal());
        long rowBytes = type.bytesFor(in);
        MemorySegment seg = Arena.ofAuto().allocate(rows * rowBytes, 16);
        QuantCodec codec = QuantCodec.of(type);
        float[] src = new float[in];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < in; i++) {
                src[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            codec.quantizeRow(src, 0, in, seg, r * rowBytes);
        }
        Tensor w = new Tensor("w", type, new long[] {in, rows}, seg);
        int maxTokens = 11;
        float[] x = new float[maxTokens * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        assertBatchInvariant(w, x, maxTokens, type.toString());
    }

    /**
     * Asserts that each of the first maxTokens activation rows of x gives the same bits through w
     * alone on one thread as in every batch of 1..maxTokens on one and two threads; returns the
     * outputs alone, [token][row].
     */
    static float[][] assertBatchInvariant(Tensor w, float[] x, int maxTokens, String what) {
        int in = w.rowLength();
        int rows = Math.toIntExact(w.rowCount());
        float[][] alone = new float[maxTokens][rows];
        try (Parallel one = new Parallel(1); Parallel two = new Parallel(2)) {
            for (int t = 0; t < maxTokens; t++) {
                float[] xt = new float[in];
                System.arraycopy(x, t * in, xt, 0, in);
                MatMul.matmul(one, w, xt, 1, alone[t]);
            }
            for (int tokens = 1; tokens <= maxTokens; tokens++) {
                for (Parallel p : new Parallel[] {one, two}) {
                    float[] out = new float[tokens * rows];
                    MatMul.matmul(p, w, x, tokens, out);
                    for (int t = 0; t < tokens; t++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(Float.floatToRawIntBits(alone[t][r]), Float.floatToRawIntBits(out[t * rows + r]),
                                    what + ": token " + t + " row " + r + " in a batch of " + tokens + " on "
                                            + p.threads() + " threads");
                        }
                    }
                }
            }
        }
        return alone;
    }

    /**
     * F16 decode with the 2^112 moved onto the activations ({@link F16Kernel#dotScaled}) gives the
     * same bits as {@link F16Kernel#dot}, for weights of every kind of half (signed zeros, subnormals,
     * normals up to the largest) and activations from subnormal to just under
     * {@link F16Kernel#SCALABLE}; larger or NaN activations are refused, and matmul then takes the
     * plain path, still batch-invariant.
     */
    @Test
    void scaledHalfDotIsTheSameBits() {
        Random rnd = new Random(5);
        short[] special = {0, (short) 0x8000, 1, (short) 0x8001, 0x03FF, 0x0400, (short) 0x8400, 0x7BFF, (short) 0xFBFF};
        for (int n : new int[] {1, 7, 8, 31, 32, 33, 100, 2051}) {
            MemorySegment w = Arena.ofAuto().allocate(2L * n + 2, 2);
            for (int i = 0; i < n; i++) {
                short h = rnd.nextInt(4) == 0 ? special[rnd.nextInt(special.length)] : (short) rnd.nextInt(0x7C00);
                w.set(WeightKernel.I16, 2 + 2L * i, (short) (h ^ (rnd.nextBoolean() ? 0x8000 : 0)));
            }
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = switch (rnd.nextInt(5)) {
                    case 0 -> Float.MIN_VALUE * rnd.nextInt(1000);
                    case 1 -> Math.nextDown(F16Kernel.SCALABLE) * (rnd.nextBoolean() ? 1 : -1);
                    default -> (float) rnd.nextGaussian() * (float) Math.pow(2, rnd.nextInt(30) - 20);
                };
            }
            float[] xs = new float[n];
            assertTrue(F16Kernel.scaleActivations(x, n, xs), "n=" + n);
            float plain = F16Kernel.INSTANCE.dot(w, 2, x, 0, n);
            float scaled = F16Kernel.INSTANCE.dotScaled(w, 2, xs, 0, n);
            assertEquals(Float.floatToRawIntBits(plain), Float.floatToRawIntBits(scaled), "n=" + n);
            x[rnd.nextInt(n)] = rnd.nextBoolean() ? F16Kernel.SCALABLE : Float.NaN;
            assertFalse(F16Kernel.scaleActivations(x, n, xs), "refused, n=" + n);
        }
    }

    /**
     * The FP8 kernel rebuilds every finite E4M3 code (subnormals and signed zeros included) with
     * scales from subnormal floats to just under {@link io.tessera.core.quant.Fp8Codec#MAX_SCALE} as
     * the same floats as the scalar codec, {@code e4m3(q) · scale} rounded once.
     */
    @Test
    void fp8DecodeIsTheCodecsBitsForEveryCodeAndScale() {
        float[] scales = {0f, Float.MIN_VALUE, 3 * Float.MIN_VALUE, 1e-40f, Float.MIN_NORMAL, 1.7e-5f, 0.0123f, 1f,
                3.3f, Math.nextDown(io.tessera.core.quant.Fp8Codec.MAX_SCALE)};
        int n = 256;
        long rowBytes = GgmlType.FP8.bytesFor(n);
        MemorySegment seg = Arena.ofAuto().allocate(1 + rowBytes, 1);
        QuantCodec codec = QuantCodec.of(GgmlType.FP8);
        for (float scale : scales) {
            for (int b = 0; b < n / 64; b++) {
                long p = 1 + b * 68L;
                seg.set(WeightKernel.F32, p, scale);
                for (int j = 0; j < 64; j++) {
                    int code = b * 64 + j;
                    // the two NaN codes never occur in a weight: put the zeros there instead
                    seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 4 + j,
                            (byte) ((code & 0x7F) == 0x7F ? code & 0x80 : code));
                }
            }
            float[] want = new float[n];
            float[] got = new float[n];
            codec.dequantizeRow(seg, 1, want, 0, n);
            WeightKernel.of(GgmlType.FP8).decodeRow(seg, 1, got, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                        "code " + i + " scale " + scale + ": " + want[i] + " vs " + got[i]);
            }
        }
    }

    /** An activation too large for the scaled F16 decode: one token alone takes the plain path. */
    @Test
    void halfMatmulWithLargeActivationsIsBatchInvariant() {
        int in = 300;
        int rows = 40;
        Random rnd = new Random(9);
        MemorySegment seg = Arena.ofAuto().allocate(rows * GgmlType.F16.bytesFor(in), 16);
        for (long i = 0; i < (long) rows * in; i++) {
            seg.set(WeightKernel.I16, 2 * i, Float.floatToFloat16((float) rnd.nextGaussian() * 0.1f));
        }
        float[] x = new float[4 * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        x[in + 17] = 3e5f;
        x[3 * in + 2] = -1e6f;
        float[][] alone = assertBatchInvariant(new Tensor("w", GgmlType.F16, new long[] {in, rows}, seg), x, 4, "F16");
        float expect = 0;
        for (int i = 0; i < in; i++) {
            expect += Float.float16ToFloat(seg.get(WeightKernel.I16, 2L * i)) * x[in + i];
        }
        assertEquals(expect, alone[1][0], Math.abs(expect) * 1e-5f, "token 1, row 0 against a plain sum");
    }

    @ParameterizedTest
    @MethodSource("types")
    void rowDecodesLikeTheCodec(GgmlType type) {
        int in = 512;
        long rowBytes = type.bytesFor(in);
        MemorySegment seg = Arena.ofAuto().allocate(3 * rowBytes, 16);
        Random rnd = new Random(11);
        float[] src = new float[in];
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < in; i++) {
                src[i] = (float) rnd.nextGaussian();
            }
            QuantCodec.of(type).quantizeRow(src, 0, in, seg, r * rowBytes);
        }
        Tensor w = new Tensor("e", type, new long[] {in, 3}, seg);
        float[] ref = new float[in];
        QuantCodec.of(type).dequantizeRow(seg, 2 * rowBytes, ref, 0, in);
        float[] got = new float[in + 5];
        MatMul.row(w, 2, got, 5);
        for (int i = 0; i < in; i++) {
            assertTrue(Math.abs(ref[i] - got[5 + i]) <= Math.abs(ref[i]) * 1e-6 + 1e-9, type + " value " + i);
        }
    }
}
