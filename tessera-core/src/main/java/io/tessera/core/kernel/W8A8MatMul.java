package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.RowScales;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link GgmlType#W8A8} matrix products: int8 weights with one scale per row, activations rounded
 * to int8 per token when the product runs ({@link Int8Activations}), the products summed in int32
 * over the whole row, then scaled once: {@code out[t][r] = (float) Σ q_w·q_x · (d_r · d_t)}. With an
 * outlier threshold ({@link RowScales#outlierThreshold}) a token's outlier columns are added in
 * float: {@code + d_r · Σ_k q_w[c_k] · x[c_k]}, over its columns in ascending order.
 *
 * <p>The integer sum is exact in any order (|q| ≤ 127 on both sides; rows up to {@value #MAX_ROW}
 * values cannot overflow an int), and the float steps after it are the same two multiplications on
 * every path, so the Java kernels here, the native kernel ({@code tsr_w8a8}) and any tiling, batch
 * or thread count give the same bits. The Vector API has no 8-bit multiply: weights are widened to
 * 16-bit lanes, two products added in 16 bits (at most 2 · 128 · 127, a short), then neighbouring
 * lanes as ints. One token streams each row from memory; three or more widen a band of two rows
 * once into a panel and run register tiles of 2 rows × 2 tokens over it.
 */
public final class W8A8MatMul {

    /** Longest row: 127 · 128 · MAX_ROW stays below 2^31. */
    static final int MAX_ROW = 131_072;
    private static final int ROW_GRAIN = 16;
    private static final int PANEL_MIN_TOKENS = 3;

    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    private static final ThreadLocal<Int8Activations> ROUNDED = ThreadLocal.withInitial(Int8Activations::new);
    private static final ThreadLocal<short[][]> PANEL = ThreadLocal.withInitial(() -> new short[1][0]);

    private W8A8MatMul() {
    }

    /** {@code outs[m] = x · ws[m]ᵀ} for matrices of the same input width, as one parallel operation. */
    static void matmul(Parallel parallel, Tensor[] ws, float[] x, int tokens, float[][] outs) {
        Int8Activations a = round(ws, x, tokens);
        int[] start = new int[ws.length + 1];
        for (int m = 0; m < ws.length; m++) {
            int rows = Math.toIntExact(ws[m].rowCount());
            if (outs[m].length < (long) tokens * rows) {
                throw new IllegalArgumentException("matmul " + ws[m] + ": output too small for " + tokens + " tokens");
            }
            start[m + 1] = start[m] + (rows + ROW_GRAIN - 1) / ROW_GRAIN * ROW_GRAIN;
        }
        NativeKernels nk = Kernels.active();
        parallel.forRange(start[ws.length], ROW_GRAIN, (from, to) -> {
            for (int m = 0; m < ws.length; m++) {
                int rows = Math.toIntExact(ws[m].rowCount());
                int lo = Math.max(from, start[m]) - start[m];
                int hi = Math.min(Math.min(to, start[m + 1]) - start[m], rows);
                if (lo < hi) {
                    rows(nk, ws[m], a, outs[m], lo, hi);
                }
            }
        });
    }

    /** {@code gate = silu(x·Wgate) ⊙ (x·Wup)}, as {@link MatMul#swiGlu}; {@code up} is scratch. */
    static void swiGlu(Parallel parallel, Tensor wGate, Tensor wUp, float[] x, int tokens, float[] gate, float[] up) {
        Tensor[] ws = {wGate, wUp};
        Int8Activations a = round(ws, x, tokens);
        int rows = Math.toIntExact(wGate.rowCount());
        if (gate.length < (long) tokens * rows || up.length < (long) tokens * rows) {
            throw new IllegalArgumentException("swiGlu " + wGate + ": buffers too small for " + tokens + " tokens");
        }
        NativeKernels nk = Kernels.active();
        parallel.forRange(rows, ROW_GRAIN, (from, to) -> {
            rows(nk, wGate, a, gate, from, to);
            rows(nk, wUp, a, up, from, to);
            for (int t = 0; t < tokens; t++) {
                VectorMath.siluMul(gate, up, t * rows + from, to - from);
            }
        });
    }

    /** The calling thread's rounded activations for these matrices (which must agree on input and threshold). */
    private static Int8Activations round(Tensor[] ws, float[] x, int tokens) {
        int in = ws[0].rowLength();
        float threshold = ws[0].rowScales().outlierThreshold();
        for (Tensor w : ws) {
            if (w.type() != GgmlType.W8A8) {
                throw new IllegalArgumentException(w + " is not W8A8");
            }
            if (w.rowLength() != in || w.rowScales().outlierThreshold() != threshold) {
                throw new IllegalArgumentException("matmul " + w + ": input width or outlier threshold differs from "
                        + ws[0]);
            }
            if (w.data().byteSize() < w.rowCount() * in) {
                throw new IllegalArgumentException("matmul " + w + ": data holds " + w.data().byteSize() + " bytes");
            }
        }
        if (in > MAX_ROW) {
            throw new IllegalArgumentException("W8A8 rows of " + in + " values exceed " + MAX_ROW
                    + " (the int32 sums could overflow)");
        }
        Int8Activations a = ROUNDED.get();
        a.quantize(x, tokens, in, threshold, Kernels.active() == null);
        return a;
    }

    /** Rows [from, to) of w against every token of a, into {@code out[t · rows + r]}. */
    static void rows(NativeKernels nk, Tensor w, Int8Activations a, float[] out, int from, int to) {
        int rows = Math.toIntExact(w.rowCount());
        if (nk != null) {
            nk.w8a8Rows(w, from, to, rows, a, out);
        } else {
            javaRows(w, a, out, from, to);
        }
        if (a.hasOutliers()) {
            addOutliers(w, a, out, from, to);
        }
    }

    /** The Vector API kernel: see the class comment. */
    static void javaRows(Tensor w, Int8Activations a, float[] out, int from, int to) {
        int in = w.rowLength();
        int rows = Math.toIntExact(w.rowCount());
        int tokens = a.tokens;
        MemorySegment seg = w.data();
        float[] d = w.rowScales().scales();
        short[] xs = a.wide;
        if (tokens < PANEL_MIN_TOKENS) {
            for (int r = from; r < to; r++) {
                for (int t = 0; t < tokens; t++) {
                    out[t * rows + r] = (float) dot(seg, (long) r * in, xs, t * in, in) * (d[r] * a.scale[t]);
                }
            }
            return;
        }
        short[][] holder = PANEL.get();
        if (holder[0].length < 2 * in) {
            holder[0] = new short[2 * in];
        }
        short[] p = holder[0];
        int[] s = new int[4];
        for (int r = from; r < to; r += 2) {
            int r1 = Math.min(r + 1, to - 1); // an odd last row is paired with itself
            widen(seg, (long) r * in, p, 0, in);
            widen(seg, (long) r1 * in, p, in, in);
            for (int t = 0; t < tokens; t += 2) {
                int u = Math.min(t + 1, tokens - 1); // an odd last token is paired with itself
                tile2x2(p, in, xs, t * in, u * in, s);
                out[t * rows + r] = (float) s[0] * (d[r] * a.scale[t]);
                out[u * rows + r] = (float) s[1] * (d[r] * a.scale[u]);
                out[t * rows + r1] = (float) s[2] * (d[r1] * a.scale[t]);
                out[u * rows + r1] = (float) s[3] * (d[r1] * a.scale[u]);
            }
        }
    }

    /** Σ q_w·q_x over one row of n codes at {@code w[off..]} and {@code x[xo..]}, exact. */
    static int dot(MemorySegment w, long off, short[] x, int xo, int n) {
        int vec = n & ~31;
        IntVector acc = IntVector.zero(IntVector.SPECIES_256);
        for (int i = 0; i < vec; i += 32) {
            ShortVector w0 = (ShortVector) ByteVector.fromMemorySegment(B128, w, off + i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w1 = (ShortVector) ByteVector.fromMemorySegment(B128, w, off + i + 16, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S16, 0);
            IntVector p = w0.mul(ShortVector.fromArray(S16, x, xo + i)).add(w1.mul(ShortVector.fromArray(S16, x, xo + i + 16)))
                    .reinterpretAsInts();
            acc = acc.add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                    .add(p.lanewise(VectorOperators.ASHR, 16));
        }
        int sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < n; i++) {
            sum += w.get(I8, off + i) * x[xo + i];
        }
        return sum;
    }

    /** n codes of a row at {@code w[off..]} widened into {@code p[po..]}. */
    private static void widen(MemorySegment w, long off, short[] p, int po, int n) {
        int vec = n & ~15;
        for (int i = 0; i < vec; i += 16) {
            ((ShortVector) ByteVector.fromMemorySegment(B128, w, off + i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S16, 0)).intoArray(p, po + i);
        }
        for (int i = vec; i < n; i++) {
            p[po + i] = w.get(I8, off + i);
        }
    }

    /**
     * Panel rows 0 and 1 (at p[0..] and p[n..]) × tokens at x[x0..] and x[x1..], into s[0..4) as
     * (row 0, x0), (row 0, x1), (row 1, x0), (row 1, x1); exact integer sums.
     */
    private static void tile2x2(short[] p, int n, short[] x, int x0, int x1, int[] s) {
        int vec = n & ~31;
        IntVector a00 = IntVector.zero(IntVector.SPECIES_256);
        IntVector a01 = a00;
        IntVector a10 = a00;
        IntVector a11 = a00;
        for (int i = 0; i < vec; i += 32) {
            ShortVector y0 = ShortVector.fromArray(S16, x, x0 + i);
            ShortVector y1 = ShortVector.fromArray(S16, x, x0 + i + 16);
            ShortVector z0 = ShortVector.fromArray(S16, x, x1 + i);
            ShortVector z1 = ShortVector.fromArray(S16, x, x1 + i + 16);
            ShortVector v0 = ShortVector.fromArray(S16, p, i);
            ShortVector v1 = ShortVector.fromArray(S16, p, i + 16);
            IntVector t = v0.mul(y0).add(v1.mul(y1)).reinterpretAsInts();
            a00 = a00.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            t = v0.mul(z0).add(v1.mul(z1)).reinterpretAsInts();
            a01 = a01.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            v0 = ShortVector.fromArray(S16, p, n + i);
            v1 = ShortVector.fromArray(S16, p, n + i + 16);
            t = v0.mul(y0).add(v1.mul(y1)).reinterpretAsInts();
            a10 = a10.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            t = v0.mul(z0).add(v1.mul(z1)).reinterpretAsInts();
            a11 = a11.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
        }
        int s00 = a00.reduceLanes(VectorOperators.ADD);
        int s01 = a01.reduceLanes(VectorOperators.ADD);
        int s10 = a10.reduceLanes(VectorOperators.ADD);
        int s11 = a11.reduceLanes(VectorOperators.ADD);
        for (int i = vec; i < n; i++) {
            s00 += p[i] * x[x0 + i];
            s01 += p[i] * x[x1 + i];
            s10 += p[n + i] * x[x0 + i];
            s11 += p[n + i] * x[x1 + i];
        }
        s[0] = s00;
        s[1] = s01;
        s[2] = s10;
        s[3] = s11;
    }

    /**
     * Adds each token's outlier columns in float: {@code out += d_r · Σ_k q_w[c_k] · x[c_k]}, the
     * columns in ascending order, the same on every path.
     */
    private static void addOutliers(Tensor w, Int8Activations a, float[] out, int from, int to) {
        int in = w.rowLength();
        int rows = Math.toIntExact(w.rowCount());
        MemorySegment seg = w.data();
        float[] d = w.rowScales().scales();
        for (int t = 0; t < a.tokens; t++) {
            int k0 = a.outlierStart[t];
            int k1 = a.outlierStart[t + 1];
            if (k0 == k1) {
                continue;
            }
            for (int r = from; r < to; r++) {
                long row = (long) r * in;
                float sum = 0;
                for (int k = k0; k < k1; k++) {
                    int c = a.outliers[k];
                    sum += seg.get(I8, row + c) * a.x[t * in + c];
                }
                out[t * rows + r] += d[r] * sum;
            }
        }
    }

    /** Row r of a W8A8 matrix rebuilt as floats: {@code d_r · q}. */
    static void decodeRow(Tensor w, long r, float[] dst, int dstOff) {
        int in = w.rowLength();
        float d = w.rowScales().scales()[Math.toIntExact(r)];
        MemorySegment seg = w.data();
        for (int i = 0; i < in; i++) {
            dst[dstOff + i] = d * seg.get(I8, r * in + i);
        }
    }
}
