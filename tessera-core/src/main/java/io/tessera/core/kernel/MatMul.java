package io.tessera.core.kernel;

import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight matrix × activations: {@code out[t][r] = Σ_i W[r][i] · x[t][i]} for each of {@code tokens}
 * activation rows. W is an {@code [out, in]} tensor of any supported type, read in place from its
 * memory mapping by the type's {@link WeightKernel}; rows are split over the threads of a
 * {@link Parallel}.
 *
 * <p>One token (decode) streams each weight row once, four rows at a time. Several tokens (prefill,
 * batched decode) are a blocked matrix product: a band of {@value #BAND} rows is decoded up to
 * {@value #KC} values at a time into a float panel (at most 64 KB, held in L2), and every token
 * passes over the panel in register tiles of 4 rows × 2 tokens (8 accumulators, each weight vector
 * loaded once per two tokens and each activation vector once per four rows); partial sums wait in
 * a per-thread accumulator array between panels. Decoding costs once per band, shared by all tokens.
 * Long inner loops matter more here than L1 residency: with MatMulBench on one Zen 3 core (Q8_0,
 * 32-128 tokens) 16-row × 256-value panels reached 37 GFLOP/s, these 4 × 4096 panels 50-57.
 * The blocking never changes a result: every (row, token) sum follows the one order of
 * {@link WeightKernel}, so a token's output does not depend on the rest of its batch.
 */
public final class MatMul {

    /** Rows per unit of work handed to a thread. */
    private static final int ROW_GRAIN = 16;
    /** Rows decoded into one panel: one register tile high. */
    static final int BAND = 4;
    /** Values of a row per panel (a multiple of every block size): 4 rows × 4096 floats = 64 KB. */
    static final int KC = 4096;

    /** Per-thread panel and accumulators, grown on demand. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

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
            int r = from;
            for (; r + 4 <= to; r += 4) {
                kernel.dotRows4(seg, r * rowBytes, rowBytes, x, 0, in, out, r);
            }
            for (; r < to; r++) {
                out[r] = kernel.dot(seg, r * rowBytes, x, 0, in);
            }
            return;
        }
        Scratch scratch = SCRATCH.get();
        float[] panel = scratch.panel;
        int accStride = tokens * 8;
        float[] acc = scratch.acc(BAND * accStride);
        int vec = in & ~7; // values summed in the lanes; the rest (float types only) is the tail
        for (int band = from; band < to; band += BAND) {
            int nr = Math.min(BAND, to - band);
            Arrays.fill(acc, 0, nr * accStride, 0f);
            int kc0 = 0;
            for (int c = 0; c < in; c += KC) {
                kc0 = c;
                int kcLen = Math.min(KC, in - c);
                long colOff = kernel.byteOffset(c);
                for (int r = 0; r < nr; r++) {
                    kernel.decodeRow(seg, (band + r) * rowBytes + colOff, panel, r * KC, kcLen);
                }
                int kv = Math.min(kcLen, vec - c);
                if (kv > 0) {
                    tiles(panel, nr, x, c, in, tokens, kv, acc, accStride);
                }
            }
            // lanes in their fixed order, then the tail, which sits in the last panel
            int tail = vec - kc0;
            for (int r = 0; r < nr; r++) {
                for (int t = 0; t < tokens; t++) {
                    float sum = WeightKernel.lanes(acc, r * accStride + t * 8);
                    for (int i = vec; i < in; i++) {
                        sum += panel[r * KC + tail + i - vec] * x[t * in + i];
                    }
                    out[t * rows + band + r] = sum;
                }
            }
        }
    }

    /** One panel (nr rows × kv values from column c) against every token, into the accumulators. */
    private static void tiles(float[] panel, int nr, float[] x, int c, int in, int tokens, int kv, float[] acc,
            int accStride) {
        int t = 0;
        for (; t + 2 <= tokens; t += 2) {
            int r = 0;
            for (; r + 4 <= nr; r += 4) {
                tile4x2(panel, r * KC, KC, x, t * in + c, in, kv, acc, r * accStride + t * 8, accStride);
            }
            for (; r < nr; r++) {
                tile1x1(panel, r * KC, x, t * in + c, kv, acc, r * accStride + t * 8);
                tile1x1(panel, r * KC, x, (t + 1) * in + c, kv, acc, r * accStride + t * 8 + 8);
            }
        }
        if (t < tokens) {
            for (int r = 0; r < nr; r++) {
                tile1x1(panel, r * KC, x, t * in + c, kv, acc, r * accStride + t * 8);
            }
        }
    }

    /**
     * Rows w, w+ws, w+2ws, w+3ws of the panel × tokens x0, x0+xs, over kv values: 8 accumulators,
     * 2 activation and 1 weight register, the shape that keeps the multiply-add units busy on AVX2
     * without spilling (about 60% of one core's peak with the operands in L1). The strides are
     * parameters on purpose: with the panel stride as a compile-time constant C2 compiles the
     * loop a third slower.
     */
    private static void tile4x2(float[] p, int w, int ws, float[] x, int x0, int xs, int kv, float[] acc, int a,
            int as) {
        int w0 = w;
        int w1 = w + ws;
        int w2 = w + 2 * ws;
        int w3 = w + 3 * ws;
        int x1 = x0 + xs;
        FloatVector a00 = FloatVector.fromArray(F, acc, a);
        FloatVector a01 = FloatVector.fromArray(F, acc, a + 8);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + as);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + as + 8);
        FloatVector a20 = FloatVector.fromArray(F, acc, a + 2 * as);
        FloatVector a21 = FloatVector.fromArray(F, acc, a + 2 * as + 8);
        FloatVector a30 = FloatVector.fromArray(F, acc, a + 3 * as);
        FloatVector a31 = FloatVector.fromArray(F, acc, a + 3 * as + 8);
        for (int k = 0; k < kv; k += 8) {
            FloatVector xa = FloatVector.fromArray(F, x, x0 + k);
            FloatVector xb = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v = FloatVector.fromArray(F, p, w0 + k);
            a00 = v.fma(xa, a00);
            a01 = v.fma(xb, a01);
            v = FloatVector.fromArray(F, p, w1 + k);
            a10 = v.fma(xa, a10);
            a11 = v.fma(xb, a11);
            v = FloatVector.fromArray(F, p, w2 + k);
            a20 = v.fma(xa, a20);
            a21 = v.fma(xb, a21);
            v = FloatVector.fromArray(F, p, w3 + k);
            a30 = v.fma(xa, a30);
            a31 = v.fma(xb, a31);
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + 8);
        a10.intoArray(acc, a + as);
        a11.intoArray(acc, a + as + 8);
        a20.intoArray(acc, a + 2 * as);
        a21.intoArray(acc, a + 2 * as + 8);
        a30.intoArray(acc, a + 3 * as);
        a31.intoArray(acc, a + 3 * as + 8);
    }

    /** One row × one token (band and batch edges). */
    private static void tile1x1(float[] p, int w, float[] x, int x0, int kv, float[] acc, int a) {
        FloatVector s = FloatVector.fromArray(F, acc, a);
        for (int k = 0; k < kv; k += 8) {
            s = FloatVector.fromArray(F, p, w + k).fma(FloatVector.fromArray(F, x, x0 + k), s);
        }
        s.intoArray(acc, a);
    }

    private static final class Scratch {
        final float[] panel = new float[BAND * KC];
        float[] acc = new float[0];

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }
    }

    /** Copies row {@code r} of an embedding-like tensor into dst as floats. */
    public static void row(Tensor w, long r, float[] dst, int dstOff) {
        WeightKernel.of(w.type()).decodeRow(w.data(), r * w.rowBytes(), dst, dstOff, w.rowLength());
    }
}
