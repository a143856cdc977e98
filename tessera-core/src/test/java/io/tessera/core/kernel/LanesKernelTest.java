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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Q8_0, Q4_0, Q4_K and Q6_K repacked into lane order ({@link LanesKernel}) against the scalar reference codec:
 * the packed rows decode to the codec's floats, the dot product matches the double-precision
 * product of the decoded weights with the rounded activations, and matrix products stay batch
 * invariant and agree with the file layout's.
 */
class LanesKernelTest {

    private static final double REL_TOL = 2e-6;

    /** A random matrix encoded with the reference codec, and its decoded floats. */
    static Tensor randomMatrix(GgmlType type, int in, int rows, Random rnd, float[][] ref) {
        long rowBytes = type.bytesFor(in);
        // an odd offset: a mapped tensor may start anywhere
        MemorySegment seg = Arena.ofAuto().allocate(3 + rows * rowBytes, 1).asSlice(3);
        QuantCodec codec = QuantCodec.of(type);
        float[] src = new float[in];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < in; i++) {
                // blocks of different spreads and centres, for Q4_K's scales and mins
                src[i] = (float) ((rnd.nextGaussian() + (i / 32 % 3 - 1) * 0.5) * 0.05 * (1 + i / 32 % 4 + r % 4));
            }
            codec.quantizeRow(src, 0, in, seg, r * rowBytes);
            if (ref != null) {
                ref[r] = new float[in];
                codec.dequantizeRow(seg, r * rowBytes, ref[r], 0, in);
            }
        }
        return new Tensor("w", type, new long[] {in, rows}, seg);
    }

    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"Q4_0, 256", "Q4_0, 1024", "Q4_0, 2304", "Q4_K, 256", "Q4_K, 1024", "Q4_K, 2304", "Q6_K, 256", "Q6_K, 2304", "Q8_0, 256", "Q8_0, 2304"})
    void dotAndDecodingMatchTheReference(GgmlType type, int n) {
        Random rnd = new Random(n);
        int rows = 5;
        float[][] ref = new float[rows][];
        Tensor packed = WeightKernel.repackForKernels(randomMatrix(type, n, rows, rnd, ref), Arena.ofAuto());
        assertEquals(Tensor.Layout.LANES, packed.layout());
        LanesKernel k = (LanesKernel) WeightKernel.of(packed);
        assertEquals(type, k.type());
        assertEquals(type == GgmlType.Q6_K, k instanceof Q6KLanesKernel);
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
                // the nibble kernels' recombined steps: step s − 16·step (s − 1) within each four, wrapping
                int s = i % 16;
                short recombined = (short) (s % 4 == 0 ? xq.q[c + i] : xq.q[c + i] - 16 * xq.q[c + i - 1]);
                assertEquals(recombined, xq.nibbleSteps[c + 16 * s + i / 16], "recombined step of value " + (c + i));
            }
        }
        MemorySegment seg = packed.data();
        long rowBytes = packed.rowBytes();
        short[] lanes = new short[5 + n];
        float[] scales = new float[2 + n / 16];
        float[] offsets = new float[2 + n / 32];
        float[] decoded = new float[n + 1];
        for (int r = 0; r < rows; r++) {
            k.decodeRow(seg, r * rowBytes, decoded, 1, n);
            k.decodeLanes(seg, r * rowBytes, lanes, 5, scales, offsets, 2, n);
            for (int i = 0; i < n; i++) {
                // a delta of 0 takes −0 and +0 alike: d·q + (−8d) gives +0 where the codec's (q − 8)·d gives −0
                assertEquals(ref[r][i], decoded[1 + i], 0f, "decodeRow " + i);
                int c = i / 256 * 256;
                int j = i % 256;
                int nibble = lanes[5 + c + 16 * (j % 16) + j / 16];
                if (k instanceof NibbleLanesKernel) {
                    assertEquals(ref[r][i], scales[2 + i / 32] * nibble + offsets[2 + i / 32], 0f, "decodeLanes " + i);
                } else if (k instanceof Q8_0LanesKernel) {
                    assertEquals(ref[r][i], scales[2 + i / 32] * nibble, 0f, "decodeLanes " + i);
                } else {
                    int sub = j / 16; // a scale per 16 values, the even sub-blocks' first
                    assertEquals(ref[r][i], scales[2 + c / 16 + sub % 2 * 8 + sub / 2] * nibble, 0f, "decodeLanes " + i);
                }
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

    /**
     * The largest integer sums the layout can meet: every weight at the top (or, for Q6_K and Q8_0,
     * the bottom) of its range times activations that all round to 127. A 4-bit type's 16-bit lane
     * then holds 16 · 15 · 127 = 30480, and two neighbouring lanes add up to more than a short
     * holds, so they must be added as ints; Q8_0's two steps reach −2 · 128 · 127 = −32512. Checked
     * through the dot product (one token) and through a matrix product's panel; Q8_0 also in the
     * file's layout (288 values: no whole chunks), whose pair sums are four products.
     */
    @ParameterizedTest(name = "{0} n={1}")
    @CsvSource({"Q4_0, 512", "Q4_K, 512", "Q6_K, 512", "Q8_0, 512", "Q8_0, 288"})
    void extremeBlocksDoNotOverflow(GgmlType type, int n) {
        int rows = 3;
        Tensor file = randomMatrix(type, n, rows, new Random(9), null);
        MemorySegment seg = file.data();
        long rowBytes = file.rowBytes();
        for (long r = 0; r < rows; r++) {
            for (long c = r * rowBytes; c < (r + 1) * rowBytes; c += type.typeSize()) {
                switch (type) {
                    case Q4_0 -> seg.asSlice(c + 2, 16).fill((byte) 0xFF); // q = 15, w = 7d
                    case Q4_K -> seg.asSlice(c + 16, 128).fill((byte) 0xFF); // q = 15
                    case Q8_0 -> seg.asSlice(c + 2, 32).fill((byte) 0x80); // q = −128, which a file may hold
                    default -> seg.asSlice(c, 192).fill((byte) 0); // q − 32 = −32
                }
            }
        }
        float[][] ref = new float[rows][n];
        for (int r = 0; r < rows; r++) {
            QuantCodec.of(type).dequantizeRow(seg, r * rowBytes, ref[r], 0, n);
        }
        Tensor packed = WeightKernel.repackForKernels(file, Arena.ofAuto());
        assertEquals(n % 256 == 0 ? Tensor.Layout.LANES : Tensor.Layout.GGML, packed.layout());
        int tokens = MatMul.Q8_PANEL_MIN_TOKENS + 1;
        float[] x = new float[tokens * n];
        java.util.Arrays.fill(x, 0.75f);
        Q8Activations xq = new Q8Activations();
        xq.quantize(x, tokens, n, false, false);
        assertEquals(127, xq.q[0]);
        float[] one = new float[rows];
        float[] out = new float[tokens * rows];
        try (Parallel p = new Parallel(1)) {
            MatMul.matmul(p, packed, x, 1, one);
            MatMul.matmul(p, packed, x, tokens, out);
        }
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            double mag = 0;
            for (int i = 0; i < n; i++) {
                exact += ref[r][i] * (double) xq.scale[i / 32] * 127;
                mag += Math.abs(ref[r][i] * (double) xq.scale[i / 32] * 127);
            }
            assertEquals(exact, one[r], mag * REL_TOL, "dot, row " + r);
            assertEquals(exact, out[r], mag * REL_TOL, "matmul, row " + r);
        }
    }

    /** A token's outputs do not depend on its batch, the tiling or the thread count; and they match the file layout's closely. */
    @ParameterizedTest(name = "{0} in={1}")
    @CsvSource({"Q4_0, 512", "Q4_0, " + (MatMul.KC + 256), "Q4_K, 512", "Q4_K, " + (MatMul.KC + 256), "Q6_K, 512",
        "Q6_K, " + (MatMul.KC + 256), "Q8_0, 512", "Q8_0, " + (MatMul.KC + 256)})
    void matmulIsBatchInvariant(GgmlType type, int in) {
        int rows = 75; // not a multiple of the row grain or band
        Random rnd = new Random(in);
        Tensor file = randomMatrix(type, in, rows, rnd, null);
        Tensor w = WeightKernel.repackForKernels(file, Arena.ofAuto());
        int maxTokens = 11;
        float[] x = new float[maxTokens * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[][] alone = WeightKernelTest.assertBatchInvariant(w, x, maxTokens, type + " lanes");
        float[] row = new float[in];
        try (Parallel one = new Parallel(1)) {
            for (int t = 0; t < maxTokens; t++) {
                float[] xt = new float[in];
                System.arraycopy(x, t * in, xt, 0, in);
                float[] unpacked = new float[rows];
                MatMul.matmul(one, file, xt, 1, unpacked);
                for (int r = 0; r < rows; r++) {
                    // the 4-bit and 6-bit layouts add the same exact block sums in different orders; Q8_0's
                    // file layout multiplies the activations unrounded, so add their rounding (half a step)
                    MatMul.row(file, r, row, 0);
                    double mag = 0;
                    double rounding = 0;
                    for (int b = 0; b < in; b += 32) {
                        float amax = 0;
                        for (int i = b; i < b + 32; i++) {
                            amax = Math.max(amax, Math.abs(xt[i]));
                        }
                        for (int i = b; i < b + 32; i++) {
                            mag += Math.abs(row[i] * xt[i]);
                            rounding += Math.abs(row[i]) * amax / 127 / 2;
                        }
                    }
                    double tol = mag * REL_TOL + 1e-6 + (type == GgmlType.Q8_0 ? rounding : 0);
                    assertEquals(unpacked[r], alone[t][r], tol, "token " + t + " row " + r);
                }
            }
        }
    }

    /**
     * The dot products widen eight half-precision block scales at once with integer operations
     * ({@link LanesKernel#HALF_TO_FLOAT}); each row here has one block with an edge-case scale
     * (signed zeros, subnormals, the smallest normal, the largest finite half, both signs) and the
     * rest zero, so the product is that scale's own block sum.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"Q4_0", "Q8_0"})
    void edgeCaseHalfScalesWidenExactly(GgmlType type) {
        short[] halves = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x03FF, (short) 0x83FF, 0x0400, (short) 0x8400,
            0x3C00, (short) 0xBC00, 0x7BFF, (short) 0xFBFF};
        int n = 256;
        int blockBytes = (int) type.bytesFor(32);
        Tensor file = randomMatrix(type, n, halves.length, new Random(11), null);
        MemorySegment seg = file.data();
        long rowBytes = file.rowBytes();
        for (int r = 0; r < halves.length; r++) {
            for (int b = 0; b < 8; b++) {
                seg.set(WeightKernel.I16, r * rowBytes + (long) b * blockBytes, b == r % 8 ? halves[r] : 0);
            }
        }
        float[][] ref = new float[halves.length][n];
        for (int r = 0; r < halves.length; r++) {
            QuantCodec.of(type).dequantizeRow(seg, r * rowBytes, ref[r], 0, n);
        }
        Tensor packed = WeightKernel.repackForKernels(file, Arena.ofAuto());
        LanesKernel k = (LanesKernel) WeightKernel.of(packed);
        float[] x = new float[n];
        Random rnd = new Random(12);
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        Q8Activations xq = new Q8Activations();
        xq.quantize(x, 1, n, false, true);
        for (int r = 0; r < halves.length; r++) {
            double exact = 0;
            double mag = 0;
            for (int i = 0; i < n; i++) {
                double xi = (double) xq.scale[i / 32] * xq.q[i];
                exact += ref[r][i] * xi;
                mag += Math.abs(ref[r][i] * xi);
            }
            float dot = k.dot(packed.data(), r * packed.rowBytes(), xq, 0, n);
            assertEquals(exact, dot, mag * REL_TOL, "scale 0x" + Integer.toHexString(halves[r] & 0xFFFF));
        }
    }

    @ParameterizedTest(name = "{0} from {1}")
    @CsvSource({"Q4_0, 288", "Q4_K, 256", "Q6_K, 256", "Q8_0, 256"})
    void columnRangesArePackedFromTheirBlocks(GgmlType type, int from) {
        Random rnd = new Random(5);
        float[][] ref = new float[9][];
        Tensor file = randomMatrix(type, 1024, 9, rnd, ref);
        Tensor cols = WeightKernel.repackColumns(file, from, 512, "w[cols]", Arena.ofAuto());
        assertEquals(512, cols.rowLength());
        assertEquals(9, cols.rowCount());
        float[] row = new float[512];
        for (int r = 0; r < 9; r++) {
            MatMul.row(cols, r, row, 0);
            for (int i = 0; i < 512; i++) {
                assertEquals(ref[r][from + i], row[i], 0f, "row " + r + " column " + (from + i));
            }
        }
        // ranges the layout cannot hold, and other types, stay as they are
        assertNull(WeightKernel.repackColumns(file, 16, 512, "w", Arena.ofAuto()));
        assertNull(WeightKernel.repackColumns(file, 0, 768 + 32, "w", Arena.ofAuto()));
        if (type == GgmlType.Q4_0) {
            Tensor odd = randomMatrix(type, 288, 2, rnd, null);
            assertSame(odd, WeightKernel.repackForKernels(odd, Arena.ofAuto()));
        }
        Tensor q41 = randomMatrix(GgmlType.Q4_1, 512, 2, rnd, null);
        assertSame(q41, WeightKernel.repackForKernels(q41, Arena.ofAuto()));
        assertSame(cols, WeightKernel.repackForKernels(cols, Arena.ofAuto()));
    }
}
