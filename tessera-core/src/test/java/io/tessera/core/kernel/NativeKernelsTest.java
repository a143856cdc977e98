package io.tessera.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every native kernel, on every variant this CPU runs, against the Java kernels (the same bits) and
 * against a float64 product (within the rounding of the activations), for every type it covers and
 * odd shapes: one row, rows that do not fill a band, one token, many tokens, float rows with tails.
 * Also: the rounding of the activations is Java's, bands and batches do not change a result, and
 * bad arguments are refused in Java before any native call.
 */
class NativeKernelsTest {

    static Parallel parallel;

    /** The types whose native kernels take rounded activations, in lane order. */
    static final List<GgmlType> INTEGER_TYPES = List.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K);

    @BeforeAll
    static void start() {
        parallel = new Parallel(2);
    }

    @AfterAll
    static void stop() {
        parallel.close();
        Kernels.use(Kernels.Mode.AUTO);
    }

    /** Each variant this CPU runs, loaded; the build must have produced the library. */
    static List<NativeKernels> variants() {
        NativeKernels generic = NativeKernels.load(NativeVariant.GENERIC);
        List<NativeKernels> l = new ArrayList<>();
        for (NativeVariant v : NativeVariant.values()) {
            if (v.runsOn(generic.cpu())) {
                l.add(v == NativeVariant.GENERIC ? generic : NativeKernels.load(v));
            }
        }
        return l;
    }

    static Stream<Arguments> shapes() {
        List<Arguments> l = new ArrayList<>();
        for (NativeKernels k : variants()) {
            for (GgmlType t : INTEGER_TYPES) {
                for (int[] s : new int[][] {{256, 1, 1}, {512, 3, 2}, {768, 17, 5}, {2048, 9, 13}, {256, 6, 8},
                        {16640, 6, 4}}) {
                    l.add(Arguments.of(k, t, s[0], s[1], s[2]));
                }
            }
            for (GgmlType t : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16)) {
                for (int[] s : new int[][] {{1, 1, 1}, {7, 2, 3}, {8, 3, 1}, {33, 5, 4}, {100, 4, 6}, {264, 17, 9}, {1031, 3, 2}}) {
                    l.add(Arguments.of(k, t, s[0], s[1], s[2]));
                }
            }
            for (int[] s : new int[][] {{64, 1, 1}, {128, 3, 2}, {192, 17, 5}, {2048, 9, 13}}) {
                l.add(Arguments.of(k, GgmlType.FP8, s[0], s[1], s[2]));
            }
            for (int[] s : new int[][] {{32, 1, 1}, {96, 3, 2}, {160, 17, 5}, {2048, 9, 13}, {4096, 2, 4}}) {
                l.add(Arguments.of(k, GgmlType.Q4_1, s[0], s[1], s[2]));
            }
        }
        return l.stream();
    }

    @Test
    void theBuildProducedALibraryForThisCpuAndAutoChoosesTheWidest() {
        NativeKernels best = Kernels.best();
        assertNotNull(best, () -> "native kernels unavailable: " + Kernels.unavailableReason());
        assertEquals(NativeVariant.best(best.cpu()), best.variant());
        assertEquals("kernels: java (--kernels java)", Kernels.use(Kernels.Mode.JAVA));
        assertEquals("java", Kernels.name());
        assertEquals("kernels: " + best, Kernels.use(Kernels.Mode.NATIVE));
        assertEquals("native " + best.variant().id(), Kernels.name());
        assertThrows(IllegalArgumentException.class, () -> Kernels.Mode.parse("fast"));
    }

    /** The native rounding gives Java's integers, scales and sums, in each layout's byte order. */
    @Test
    void roundingMatchesJavaInEveryLayout() {
        int tokens = 3;
        int in = 512;
        float[] x = activations(new Random(7), tokens * in);
        // a block of subnormals: its scale's reciprocal overflows, so values round to ±infinity first
        for (int i = 64; i < 96; i++) {
            x[i] = (i % 3 - 1) * 1e-40f * (i % 5);
        }
        Q8Activations java = new Q8Activations();
        java.quantize(x, tokens, in, false, false);
        for (NativeKernels k : variants()) {
            for (int layout = 0; layout < NativeKernels.LAYOUTS; layout++) {
                byte[] q = new byte[tokens * in];
                float[] scale = new float[tokens * in / 32];
                float[] sums = new float[tokens * in / 32];
                k.quantize(x, tokens * in, layout, q, scale, sums);
                assertArrayEquals(Arrays.copyOf(java.scale, scale.length), scale, k + " scales");
                assertArrayEquals(Arrays.copyOf(java.sums, sums.length), sums, k + " sums");
                for (int c = 0; c < q.length; c += 256) {
                    for (int v = 0; v < 256; v++) {
                        assertEquals(java.q[c + v], q[c + position(layout, v)], k + " layout " + layout + " value " + (c + v));
                    }
                }
            }
        }
    }

    /** Where a chunk's value v lies in a layout (tessera_kernels.c, layout_pos), restated from the weight layouts. */
    private static int position(int layout, int v) {
        int lane = v / 16;
        int step = v % 16;
        if (layout == NativeKernels.LAYOUT_Q6_K) {
            return 16 * step + lane; // Q8Activations.lanes
        }
        if (layout == NativeKernels.LAYOUT_Q8_0) {
            return 32 * (step / 2) + 2 * lane + step % 2;
        }
        int vector = step / 4;
        int nibble = step % 4;
        return 128 * (vector / 2) + 64 * (nibble % 2) + 32 * (vector % 2) + 2 * lane + nibble / 2;
    }

    @ParameterizedTest(name = "{0} {1} in={2} rows={3} tokens={4}")
    @MethodSource("shapes")
    void sameBitsAsTheJavaKernelsAndCloseToFloat64(NativeKernels k, GgmlType type, int in, int rows, int tokens) {
        Random rnd = new Random(in * 31L + rows * 7L + tokens);
        Tensor w = matrix(type, in, rows, rnd);
        assertTrue(NativeKernels.handles(w), w + " runs natively");
        float[] x = activations(rnd, tokens * in);
        float[] expected = javaProduct(w, x, tokens);
        float[] got = nativeProduct(k, w, x, tokens, 0, rows);
        assertArrayEquals(expected, got, k + " " + w);

        // against float64: the weights as decoded, the activations as the kernel rounds them
        Q8Activations xq = new Q8Activations();
        boolean rounded = INTEGER_TYPES.contains(type);
        if (rounded) {
            xq.quantize(x, tokens, in, false, false);
        }
        float[] row = new float[in];
        for (int r = 0; r < rows; r++) {
            WeightKernel.of(w).decodeRow(w.data(), r * w.rowBytes(), row, 0, in);
            for (int t = 0; t < tokens; t++) {
                double exact = 0;
                double bound = 0;
                for (int i = 0; i < in; i++) {
                    double xv = x[t * in + i];
                    exact += row[i] * xv;
                    // rounding an activation moves it by at most half its block's scale
                    bound += Math.abs(row[i]) * (rounded ? xq.scale[(t * in + i) / 32] * 0.5 : 0) + 1e-6 * Math.abs(row[i] * xv);
                }
                float g = got[t * rows + r];
                assertTrue(Math.abs(g - exact) <= bound + 1e-6, k + " " + w + " row " + r + " token " + t + ": " + g + " vs " + exact + " ± " + bound);
            }
        }

        // bands and batches do not change a result: rows split in two calls, each token alone
        if (rows > 1) {
            float[] split = new float[tokens * rows];
            nativeRows(k, w, x, tokens, 0, 1, split);
            nativeRows(k, w, x, tokens, 1, rows, split);
            assertArrayEquals(got, split, "rows in two bands");
        }
        for (int t = 0; t < tokens; t++) {
            float[] alone = nativeProduct(k, w, Arrays.copyOfRange(x, t * in, (t + 1) * in), 1, 0, rows);
            assertArrayEquals(Arrays.copyOfRange(got, t * rows, (t + 1) * rows), alone, "token " + t + " alone");
        }
    }

    /** The matrix entry points (one matrix, several sharing an input, SwiGLU) give the Java bits natively. */
    @Test
    void matmulEntryPointsGiveTheJavaBits() {
        Random rnd = new Random(3);
        int in = 512;
        Tensor q8 = matrix(GgmlType.Q8_0, in, 40, rnd);
        Tensor q4 = matrix(GgmlType.Q4_0, in, 24, rnd);
        Tensor q4k = matrix(GgmlType.Q4_K, in, 12, rnd);
        Tensor q6k = matrix(GgmlType.Q6_K, in, 8, rnd);
        Tensor q41 = quantized(GgmlType.Q4_1, in, 8, rnd);
        assertTrue(NativeKernels.handles(q41), "Q4_1 runs natively in the file's layout");
        Tensor f16 = matrix(GgmlType.F16, in, 16, rnd);
        Tensor fp8 = matrix(GgmlType.FP8, in, 16, rnd);
        Tensor[] ws = {q8, q4, q4k, q6k, q41, f16, fp8};
        for (int tokens : new int[] {1, 2, 5}) {
            float[] x = activations(rnd, tokens * in);
            float[][][] outs = new float[2][ws.length][];
            float[][] gate = new float[2][tokens * 24];
            for (Kernels.Mode mode : new Kernels.Mode[] {Kernels.Mode.JAVA, Kernels.Mode.NATIVE}) {
                int m = mode.ordinal() - 1;
                Kernels.use(mode);
                for (int i = 0; i < ws.length; i++) {
                    outs[m][i] = new float[tokens * (int) ws[i].rowCount()];
                }
                MatMul.matmul(parallel, ws, x, tokens, outs[m]);
                // a Q4_K gate beside a Q6_K up, as in a Q4_K_M file: two activation layouts in one operation
                MatMul.swiGlu(parallel, matrix(GgmlType.Q4_K, in, 24, new Random(4)), matrix(GgmlType.Q6_K, in, 24, new Random(5)),
                        x, tokens, gate[m], new float[tokens * 24]);
            }
            for (int i = 0; i < ws.length; i++) {
                assertArrayEquals(outs[0][i], outs[1][i], ws[i] + " tokens " + tokens);
            }
            assertArrayEquals(gate[0], gate[1], "swiGlu tokens " + tokens);
        }
    }

    /** Sizes and offsets are checked in Java: a bad call throws and never reaches native code. */
    @Test
    void badArgumentsAreRefusedBeforeTheNativeCall() {
        NativeKernels k = Kernels.best();
        assertNotNull(k);
        Random rnd = new Random(1);
        Tensor w = matrix(GgmlType.Q8_0, 256, 4, rnd);
        float[] x = activations(rnd, 2 * 256);
        NativeActivations a = new NativeActivations();
        a.prepare(k, x, 2, 256, new boolean[] {true, false, false});
        float[] out = new float[2 * 4];
        assertThrows(IllegalArgumentException.class, () -> k.rows(w, 0, 5, 4, a, 2, out), "rows past the matrix");
        assertThrows(IllegalArgumentException.class, () -> k.rows(w, 3, 2, 4, a, 2, out), "from after to");
        assertThrows(IllegalArgumentException.class, () -> k.rows(w, 0, 4, 3, a, 2, out), "stride below the rows");
        assertThrows(IllegalArgumentException.class, () -> k.rows(w, 0, 4, 4, a, 3, out), "more tokens than activations");
        assertThrows(IllegalArgumentException.class, () -> k.rows(w, 0, 4, 4, a, 2, new float[7]), "output too small");
        Tensor truncated = new Tensor("w", GgmlType.Q8_0, new long[] {256, 4}, w.data().asSlice(0, w.rowBytes() * 3),
                Tensor.Layout.LANES);
        assertThrows(IllegalArgumentException.class, () -> k.rows(truncated, 0, 4, 4, a, 2, out), "data shorter than its rows");
        Tensor q4 = matrix(GgmlType.Q4_0, 256, 4, rnd);
        assertThrows(IllegalStateException.class, () -> k.rows(q4, 0, 4, 4, a, 2, out), "activations not rounded for Q4_0");
        assertThrows(IllegalArgumentException.class, () -> k.quantize(x, 100, 0, new byte[512], new float[16], new float[16]),
                "not whole chunks");
        assertThrows(IllegalArgumentException.class, () -> k.quantize(x, 512, 0, new byte[511], new float[16], new float[16]),
                "rounded buffer too small");
        assertThrows(IllegalArgumentException.class,
                () -> k.quantize(x, 512, NativeKernels.LAYOUTS, new byte[512], new float[16], new float[16]), "unknown layout");
        Tensor q6 = matrix(GgmlType.Q6_K, 256, 4, rnd);
        assertThrows(IllegalStateException.class, () -> k.rows(q6, 0, 4, 4, a, 2, out), "activations not rounded for Q6_K");
    }

    private static float[] javaProduct(Tensor w, float[] x, int tokens) {
        Kernels.use(Kernels.Mode.JAVA);
        try {
            float[] out = new float[tokens * (int) w.rowCount()];
            MatMul.matmul(parallel, w, x, tokens, out);
            return out;
        } finally {
            Kernels.use(Kernels.Mode.AUTO);
        }
    }

    private static float[] nativeProduct(NativeKernels k, Tensor w, float[] x, int tokens, int from, int to) {
        float[] out = new float[tokens * (int) w.rowCount()];
        nativeRows(k, w, x, tokens, from, to, out);
        return out;
    }

    private static void nativeRows(NativeKernels k, Tensor w, float[] x, int tokens, int from, int to, float[] out) {
        NativeActivations a = new NativeActivations();
        int layout = NativeKernels.layoutOf(w);
        boolean[] layouts = new boolean[NativeKernels.LAYOUTS];
        if (layout >= 0) {
            layouts[layout] = true;
        }
        a.prepare(k, x, tokens, w.rowLength(), layouts);
        k.rows(w, from, to, (int) w.rowCount(), a, tokens, out);
    }

    /** Activations of varied size, with an all-zero block and a few large values. */
    static float[] activations(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 20 : 1));
        }
        Arrays.fill(x, 0, Math.min(n, 32), 0f);
        return x;
    }

    /** A matrix as the model loader leaves it: integer types repacked into lane order, float types as in the file. */
    static Tensor matrix(GgmlType type, int in, int rows, Random rnd) {
        Tensor t = quantized(type, in, rows, rnd);
        if (INTEGER_TYPES.contains(type)) {
            t = WeightKernel.repackForKernels(t, Arena.ofAuto());
            assertEquals(Tensor.Layout.LANES, t.layout());
        }
        return t;
    }

    /** Random rows encoded with the reference codec, at an odd address (a mapped tensor may start anywhere). */
    static Tensor quantized(GgmlType type, int in, int rows, Random rnd) {
        return LanesKernelTest.randomMatrix(type, in, rows, rnd, null);
    }
}
