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

    /**
     * Several matrices with the same input (Q, K and V of attention) as one parallel operation:
     * their rows are laid end to end and split over the threads together, so a decode step pays one
     * hand-off instead of three. {@code outs[m]} receives {@code tokens} rows of matrix m's outputs.
     */
    public static void matmul(Parallel parallel, Tensor[] ws, float[] x, int tokens, float[][] outs) {
        int m = ws.length;
        int in = ws[0].rowLength();
        int[] start = new int[m + 1];
        WeightKernel[] kernels = new WeightKernel[m];
        for (int i = 0; i < m; i++) {
            if (ws[i].rowLength() != in) {
                throw new IllegalArgumentException("matmul " + ws[i] + ": input length differs from " + ws[0]);
            }
            int rows = Math.toIntExact(ws[i].rowCount());
            if (outs[i].length < (long) tokens * rows) {
                throw new IllegalArgumentException("matmul " + ws[i] + ": output too small for " + tokens + " tokens");
            }
            kernels[i] = WeightKernel.of(ws[i].type());
            // each matrix starts on a grain boundary so that no chunk straddles two matrices
            start[i + 1] = start[i] + (rows + ROW_GRAIN - 1) / ROW_GRAIN * ROW_GRAIN;
        }
        if (x.length < (long) tokens * in) {
            throw new IllegalArgumentException("matmul: input too small for " + tokens + " tokens");
        }
        parallel.forRange(start[m], ROW_GRAIN, (from, to) -> {
            for (int i = 0; i < m; i++) {
                int rows = Math.toIntExact(ws[i].rowCount());
                int a = Math.max(from, start[i]) - start[i];
                int b = Math.min(Math.min(to, start[i + 1]) - start[i], rows);
                if (a < b) {
                    rows(kernels[i], ws[i].data(), ws[i].rowBytes(), in, rows, x, tokens, outs[i], a, b);
                }
            }
        });
    }

    /**
     * The SwiGLU feed-forward input: {@code gate = silu(x·Wgate) * (x·Wup)} in one parallel
     * operation; each thread applies the gating to the rows it computed. {@code up} is scratch.
     */
    public static void swiGlu(Parallel parallel, Tensor wGate, Tensor wUp, float[] x, int tokens, float[] gate,
            float[] up) {
        int in = wGate.rowLength();
        int rows = Math.toIntExact(wGate.rowCount());
        if (wUp.rowLength() != in || wUp.rowCount() != rows) {
            throw new IllegalArgumentException("swiGlu: " + wGate + " and " + wUp + " differ in shape");
        }
        if (x.length < (long) tokens * in || gate.length < (long) tokens * rows || up.length < (long) tokens * rows) {
            throw new IllegalArgumentException("swiGlu " + wGate + ": buffers too small for " + tokens + " tokens");
        }
        WeightKernel kg = WeightKernel.of(wGate.type());
        WeightKernel ku = WeightKernel.of(wUp.type());
        parallel.forRange(rows, ROW_GRAIN, (from, to) -> {
            rows(kg, wGate.data(), wGate.rowBytes(), in, rows, x, tokens, gate, from, to);
            rows(ku, wUp.data(), wUp.rowBytes(), in, rows, x, tokens, up, from, to);
            for (int t = 0; t < tokens; t++) {
                int o = t * rows;
                for (int r = from; r < to; r++) {
                    float g = gate[o + r];
                    gate[o + r] = g / (1f + (float) Math.exp(-g)) * up[o + r];
                }
            }
        });
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
