package io.tessera.core.kernel;

import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Weight matrix × activations: {@code out[t][r] = Σ_i W[r][i] · x[t][i]} for each of {@code tokens}
 * activation rows. W is an {@code [out, in]} tensor of any supported type, read in place from its
 * memory mapping by the type's {@link WeightKernel}; rows are split over the threads of a
 * {@link Parallel}.
 *
 * <p>One token (decode) streams each weight row once. Several tokens (prefill, batched decode) are
 * tiled: a band of rows small enough to stay in the core's cache is applied to the tokens four at a
 * time, each weight block decoded once per four tokens. The tiling never changes a result: every
 * (row, token) dot product is computed in the same order by {@link WeightKernel#dot} and
 * {@link WeightKernel#dot4}, so a token's output does not depend on the rest of its batch.
 */
public final class MatMul {

    /** Rows per unit of work handed to a thread. */
    private static final int ROW_GRAIN = 16;
    /** Rows applied to one 4-token tile before the next tile (keeps the band in L2). */
    private static final int ROW_BAND = 32;

    private MatMul() {
    }

    /**
     * @param x activations, {@code tokens} rows of {@code w.rowLength()} floats
     * @param out results, {@code tokens} rows of {@code rows} floats where rows is W's row count
     */
    public static void matmul(Parallel parallel, Tensor w, float[] x, int tokens, float[] out) {
        int in = w.rowLength();
        int rows = Math.toIntExact(w.rowCount());
        if (x.length < (long) tokens * in || out.length < (long) tokens * rows) {
            throw new IllegalArgumentException("matmul " + w + ": buffers too small for " + tokens + " tokens");
        }
        WeightKernel kernel = WeightKernel.of(w.type());
        MemorySegment seg = w.data();
        long rowBytes = w.rowBytes();
        parallel.forRange(rows, ROW_GRAIN, (from, to) -> rows(kernel, seg, rowBytes, in, rows, x, tokens, out, from, to));
    }

    /** Rows [from, to) of W against all tokens; the per-thread body of {@link #matmul}. */
    static void rows(WeightKernel kernel, MemorySegment seg, long rowBytes, int in, int rows, float[] x, int tokens,
            float[] out, int from, int to) {
        if (tokens == 1) {
            for (int r = from; r < to; r++) {
                out[r] = kernel.dot(seg, r * rowBytes, x, 0, in);
            }
            return;
        }
        int tiled = tokens & ~3;
        for (int band = from; band < to; band += ROW_BAND) {
            int bandEnd = Math.min(to, band + ROW_BAND);
            for (int t = 0; t < tiled; t += 4) {
                for (int r = band; r < bandEnd; r++) {
                    kernel.dot4(seg, r * rowBytes, x, t * in, in, in, out, t * rows + r, rows);
                }
            }
            for (int t = tiled; t < tokens; t++) {
                for (int r = band; r < bandEnd; r++) {
                    out[t * rows + r] = kernel.dot(seg, r * rowBytes, x, t * in, in);
                }
            }
        }
    }

    /** Copies row {@code r} of an embedding-like tensor into dst as floats. */
    public static void row(Tensor w, long r, float[] dst, int dstOff) {
        WeightKernel.of(w.type()).decodeRow(w.data(), r * w.rowBytes(), dst, dstOff, w.rowLength());
    }
}
