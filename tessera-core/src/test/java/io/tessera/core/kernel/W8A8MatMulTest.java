package io.tessera.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.quant.Int8Rows;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.RowScales;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * W8A8 products (int8 rows with a scale each, activations rounded per token): against a float64
 * reference, Java against every native variant this CPU runs bit for bit, batch invariance, and the
 * LLM.int8() decomposition of outlier columns. Shapes cover row tails (lengths that are no multiple
 * of 16, 32 or 64), one row, one token and many tokens.
 */
class W8A8MatMulTest {

    /** (in, rows, tokens) */
    private static final int[][] SHAPES = {{1, 1, 1}, {7, 3, 2}, {31, 5, 1}, {32, 1, 3}, {33, 4, 4}, {64, 2, 5},
            {65, 7, 3}, {100, 9, 8}, {172, 64, 7}, {257, 17, 1}, {511, 3, 13}, {1000, 5, 2}};

    private static Parallel parallel;

    @BeforeAll
    static void start() {
        parallel = new Parallel(2);
    }

    @AfterAll
    static void stop() {
        parallel.close();
        Kernels.use(Kernels.Mode.AUTO);
    }

    @Test
    void matchesFloat64ReferenceWithinTheActivationRounding() {
        for (int[] s : SHAPES) {
            int in = s[0];
            int rows = s[1];
            int tokens = s[2];
            float[] weights = gaussian(rows * in, 1 + in);
            Tensor w = quantize(weights, in, rows, 0f);
            float[] x = gaussian(tokens * in, 7 * in + tokens);
            float[] out = product(Kernels.Mode.JAVA, w, x, tokens);
            float[] d = w.rowScales().scales();
            for (int t = 0; t < tokens; t++) {
                double xmax = 0;
                for (int i = 0; i < in; i++) {
                    xmax = Math.max(xmax, Math.abs(x[t * in + i]));
                }
                for (int r = 0; r < rows; r++) {
                    double exact = 0;
                    double bound = 0;
                    for (int i = 0; i < in; i++) {
                        double wv = (double) d[r] * code(w, r, i);
                        exact += wv * x[t * in + i];
                        // each activation moves by at most half a step of max|x| / 127
                        bound += Math.abs(wv) * (xmax / 127 / 2) * 1.0001;
                    }
                    double got = out[t * rows + r];
                    assertTrue(Math.abs(got - exact) <= bound + 1e-5 * Math.abs(exact) + 1e-6,
                            "shape " + Arrays.toString(s) + " row " + r + " token " + t + ": " + got + " vs " + exact
                                    + " (bound " + bound + ")");
                }
            }
        }
    }

    @Test
    void integerSumsAreExactAndScaledOnce() {
        for (int[] s : SHAPES) {
            int in = s[0];
            int rows = s[1];
            int tokens = s[2];
            Tensor w = quantize(gaussian(rows * in, 3 + in), in, rows, 0f);
            float[] x = gaussian(tokens * in, 5 * in);
            Int8Activations a = new Int8Activations();
            a.quantize(x, tokens, in, 0f, true);
            float[] out = product(Kernels.Mode.JAVA, w, x, tokens);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    long sum = 0;
                    for (int i = 0; i < in; i++) {
                        sum += code(w, r, i) * a.codes[t * in + i];
                        assertTrue(Math.abs(a.codes[t * in + i]) <= 127);
                    }
                    float expected = (float) sum * (w.rowScales().scales()[r] * a.scale[t]);
                    assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(out[t * rows + r]),
                            Arrays.toString(s) + " row " + r + " token " + t);
                }
            }
        }
    }

    @Test
    void nativeVariantsGiveTheJavaBits() {
        for (NativeKernels k : NativeKernelsTest.variants()) {
            for (float threshold : new float[] {0f, 2.5f}) {
                for (int[] s : SHAPES) {
                    int in = s[0];
                    int rows = s[1];
                    int tokens = s[2];
                    Tensor w = quantize(gaussian(rows * in, 11 + in), in, rows, threshold);
                    // a checkpoint from elsewhere may hold -128, which the quantizer never writes
                    w.data().set(ValueLayout.JAVA_BYTE, (long) rows * in - 1, (byte) -128);
                    float[] x = gaussian(tokens * in, 13 * in);
                    float[] java = product(Kernels.Mode.JAVA, w, x, tokens);
                    Int8Activations a = new Int8Activations();
                    a.quantize(x, tokens, in, threshold, false);
                    float[] nat = new float[tokens * rows];
                    // two bands, as threads would split the rows
                    int mid = rows / 2;
                    W8A8MatMul.rows(k, w, a, nat, 0, mid);
                    W8A8MatMul.rows(k, w, a, nat, mid, rows);
                    assertArrayEquals(java, nat, k + " " + Arrays.toString(s) + " threshold " + threshold);
                }
            }
        }
    }

    @Test
    void aTokensResultDoesNotDependOnItsBatch() {
        int in = 300;
        int rows = 37;
        int tokens = 9;
        for (float threshold : new float[] {0f, 2f}) {
            Tensor w = quantize(gaussian(rows * in, 17), in, rows, threshold);
            float[] x = gaussian(tokens * in, 19);
            for (Kernels.Mode mode : new Kernels.Mode[] {Kernels.Mode.JAVA, Kernels.Mode.AUTO}) {
                float[] batch = product(mode, w, x, tokens);
                for (int t = 0; t < tokens; t++) {
                    float[] alone = product(mode, w, Arrays.copyOfRange(x, t * in, (t + 1) * in), 1);
                    assertArrayEquals(alone, Arrays.copyOfRange(batch, t * rows, (t + 1) * rows),
                            mode + " token " + t + " threshold " + threshold);
                }
            }
        }
    }

    @Test
    void outlierColumnsAreMultipliedInFloat() {
        int in = 96;
        int rows = 6;
        int tokens = 4;
        float[] weights = gaussian(rows * in, 23);
        float[] x = gaussian(tokens * in, 29);
        // two outlier channels, as LLM.int8() finds in large models: 60 times the others
        for (int t = 0; t < tokens; t++) {
            x[t * in + 5] = 60f + t;
            x[t * in + 77] = -45f;
        }
        Tensor plain = quantize(weights, in, rows, 0f);
        Tensor mixed = quantize(weights, in, rows, 6f);
        float[] p = product(Kernels.Mode.JAVA, plain, x, tokens);
        float[] m = product(Kernels.Mode.JAVA, mixed, x, tokens);
        double errPlain = 0;
        double errMixed = 0;
        float[] d = plain.rowScales().scales();
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                double exact = 0;
                for (int i = 0; i < in; i++) {
                    exact += (double) d[r] * code(plain, r, i) * x[t * in + i];
                }
                errPlain += Math.abs(p[t * rows + r] - exact);
                errMixed += Math.abs(m[t * rows + r] - exact);
            }
        }
        // the others are rounded on a scale of about 3/127 instead of 60/127
        assertTrue(errMixed * 5 < errPlain, "decomposition error " + errMixed + " vs plain " + errPlain);
        Int8Activations a = new Int8Activations();
        a.quantize(x, tokens, in, 6f, true);
        for (int t = 0; t < tokens; t++) {
            assertArrayEquals(new int[] {5, 77}, Arrays.copyOfRange(a.outliers, a.outlierStart[t], a.outlierStart[t + 1]));
            assertEquals(0, a.codes[t * in + 5]);
        }
    }

    @Test
    void aTensorOfTheTypeNeedsItsScales() {
        MemorySegment seg = Arena.ofAuto().allocate(8);
        assertThrows(IllegalArgumentException.class, () -> new Tensor("w", GgmlType.W8A8, new long[] {4, 2}, seg));
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.w8a8("w", new long[] {4, 2}, seg, new RowScales(new float[3], 0)));
        assertThrows(IllegalArgumentException.class, () -> new RowScales(new float[] {Float.NaN}, 0));
        assertThrows(IllegalArgumentException.class, () -> new RowScales(new float[] {1}, -1));
        Tensor w = Tensor.w8a8("w", new long[] {4, 2}, seg, new RowScales(new float[] {1, 2}, 0));
        assertArrayEquals(new float[] {2}, w.rowSlice("w1", 1, 1).rowScales().scales());
    }

    static Tensor quantize(float[] weights, int in, int rows, float threshold) {
        MemorySegment seg = Arena.ofAuto().allocate((long) rows * in);
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            scales[r] = Int8Rows.quantizeRow(weights, r * in, in, seg, (long) r * in);
        }
        return Tensor.w8a8("w", new long[] {in, rows}, seg, new RowScales(scales, threshold));
    }

    private static int code(Tensor w, int r, int i) {
        return w.data().get(ValueLayout.JAVA_BYTE, (long) r * w.rowLength() + i);
    }

    private static float[] product(Kernels.Mode mode, Tensor w, float[] x, int tokens) {
        Kernels.use(mode);
        try {
            float[] out = new float[tokens * Math.toIntExact(w.rowCount())];
            MatMul.matmul(parallel, w, x, tokens, out);
            return out;
        } finally {
            Kernels.use(Kernels.Mode.AUTO);
        }
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian());
        }
        return v;
    }
}
