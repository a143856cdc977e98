package io.tessera.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Q4_0 repacked into lane order ({@link Q4_0LanesKernel}) against the scalar reference codec: the
 * packed rows decode to the codec's floats, the dot product matches the double-precision product
 * of the decoded weights with the rounded activations, and matrix products stay batch invariant.
 */
class Q4_0LanesKernelTest {

    private static final double REL_TOL = 2e-6;

    /** A random Q4_0 matrix encoded with the reference codec, and its decoded floats. */
    private static Tensor randomMatrix(int in, int rows, Random rnd, float[][] ref) {
        long rowBytes = GgmlType.Q4_0.bytesFor(in);
        // an odd offset: a mapped tensor may start anywhere
        MemorySegment seg = Arena.ofAuto().allocate(3 + rows * rowBytes, 1).asSlice(3);
        QuantCodec codec = QuantCodec.of(GgmlType.Q4_0);
        float[] src = new float[in];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < in; i++) {
                src[i] = (float) (rnd.nextGaussian() * 0.05 * (1 + r % 4));
            }
            codec.quantizeRow(src, 0, in, seg, r * rowBytes);
            if (ref != null) {
                ref[r] = new float[in];
                codec.dequantizeRow(seg, r * rowBytes, ref[r], 0, in);
            }
        }
        return new Tensor("w", GgmlType.Q4_0, new long[] {in, rows}, seg);
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {256, 1024, 2304})
    void dotAndDecodingMatchTheReference(int n) {
        Random rnd = new Random(n);
        int rows = 5;
        float[][] ref = new float[rows][];
        Tensor packed = WeightKernel.repackForKernels(randomMatrix(n, rows, rnd, ref), Arena.ofAuto());
        assertEquals(Tensor.Layout.LANES, packed.layout());
        assertSame(Q4_0LanesKernel.INSTANCE, WeightKernel.of(packed));
        int tokens = 3;
        float[] x = new float[tokens * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 20 : 1));
        }
        java.util.Arrays.fill(x, n, n + 32, 0f); // an all-zero block
        Q8Activations xq = new Q8Activations();
        xq.quantize(x, tokens, n, false, true);
        for (int c = 0; c < x.length; c += 256) {
            for (int i = 0; i < 256; i++) {
                assertEquals(xq.q[c + i], xq.lanes[c + 16 * (i % 16) + i / 16], "lane order of value " + (c + i));
            }
        }
        Q4_0LanesKernel k = Q4_0LanesKernel.INSTANCE;
        MemorySegment seg = packed.data();
        long rowBytes = packed.rowBytes();
        short[] lanes = new short[5 + n];
        float[] scales = new float[2 + n / 32];
        float[] decoded = new float[n + 1];
        for (int r = 0; r < rows; r++) {
            k.decodeRow(seg, r * rowBytes, decoded, 1, n);
            k.decodeLanes(seg, r * rowBytes, lanes, 5, scales, 2, n);
            for (int i = 0; i < n; i++) {
                assertEquals(ref[r][i], decoded[1 + i], "decodeRow " + i);
                int c = i / 256 * 256;
                int j = i % 256;
                int nibble = lanes[5 + c + 16 * (j % 16) + j / 16];
                assertEquals(ref[r][i], scales[2 + i / 32] * (nibble - 8), "decodeLanes " + i);
            }
            for (int t = 0; t < tokens; t++) {
                double exact = 0;
                double mag = 0;
                for (int i = 0; i < n; i++) {
                    double xi = (double) xq.scale[(t * n + i) / 32] * xq.q[t * n + i];
                    exact += ref[r][i] * xi;
                    mag += Math.abs(ref[r][i] * xi);
                }
                assertEquals(exact, k.dot(seg, r * rowBytes, xq, t * n, n), mag * REL_TOL + 1e-12, "row " + r + " token " + t);
            }
        }
    }

    /** A token's outputs do not depend on its batch, the tiling or the thread count; and they match the file layout's closely. */
    @ParameterizedTest(name = "in={0}")
    @ValueSource(ints = {512, MatMul.KC + 256})
    void matmulIsBatchInvariant(int in) {
        int rows = 75; // not a multiple of the row grain or band
        Random rnd = new Random(in);
        Tensor file = randomMatrix(in, rows, rnd, null);
        Tensor w = WeightKernel.repackForKernels(file, Arena.ofAuto());
        int maxTokens = 11;
        float[] x = new float[maxTokens * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[][] alone = WeightKernelTest.assertBatchInvariant(w, x, maxTokens, "Q4_0 lanes");
        try (Parallel one = new Parallel(1)) {
            for (int t = 0; t < maxTokens; t++) {
                float[] xt = new float[in];
                System.arraycopy(x, t * in, xt, 0, in);
                float[] unpacked = new float[rows];
                MatMul.matmul(one, file, xt, 1, unpacked);
                for (int r = 0; r < rows; r++) {
                    assertEquals(unpacked[r], alone[t][r], Math.abs(unpacked[r]) * 1e-5 + 1e-5, "token " + t + " row " + r);
                }
            }
        }
    }

    @Test
    void columnRangesArePackedFromTheirBlocks() {
        Random rnd = new Random(5);
        float[][] ref = new float[9][];
        Tensor file = randomMatrix(1024, 9, rnd, ref);
        Tensor cols = WeightKernel.repackColumns(file, 288, 512, "w[cols]", Arena.ofAuto());
        assertEquals(512, cols.rowLength());
        assertEquals(9, cols.rowCount());
        float[] row = new float[512];
        for (int r = 0; r < 9; r++) {
            MatMul.row(cols, r, row, 0);
            for (int i = 0; i < 512; i++) {
                assertEquals(ref[r][288 + i], row[i], "row " + r + " column " + (288 + i));
            }
        }
        // ranges the layout cannot hold, and other types, stay as they are
        assertNull(WeightKernel.repackColumns(file, 16, 512, "w", Arena.ofAuto()));
        assertNull(WeightKernel.repackColumns(file, 0, 288, "w", Arena.ofAuto()));
        Tensor odd = randomMatrix(288, 2, rnd, null);
        assertSame(odd, WeightKernel.repackForKernels(odd, Arena.ofAuto()));
        assertSame(cols, WeightKernel.repackForKernels(cols, Arena.ofAuto()));
    }
}
