package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight matrix × activations: {@code out[t][r] = Σ_i W[r][i] · x[t][i]} for each of {@code tokens}
 * activation rows. W is an {@code [out, in]} tensor of any supported type, read in place from its
 * memory mapping by the type's {@link WeightKernel}; rows are split over the threads of a
 * {@link Parallel}.
 *
 * <p>One token (decode) streams each weight row once. Several tokens (prefill, batched decode) are
 * a blocked matrix product: a band of {@value #BAND} rows is decoded up to {@value #KC} values at a
 * time into a float panel (64 KB, held in L2), and every token passes over the panel in register
 * tiles of 2 rows × 2 tokens (each weight vector loaded once per two tokens, each activation vector
 * once per two rows); partial sums wait in a per-thread accumulator array between panels. Decoding
 * costs once per band, shared by all tokens. Integer kernels ({@link Q8DotKernel}) decode panels of
 * 16-bit integers (32 KB) and block scales instead and use 2-row × 3-token tiles of 16-bit
 * multiplies ({@link #intTile2x3}): a vector holds twice as many 16-bit products as float ones,
 * and two rows × three tokens of them fit the registers; they replaced 1 × 4 tiles of float
 * multiply-adds on integer-valued floats.
 * Q8_0, Q4_0, Q4_K and Q6_K matrices repacked into lane order at load ({@link LanesKernel}) have their own path,
 * {@link #laneRows}: whole 256-value chunks summed in 16-bit lanes, two rows × two tokens at a time.
 * Long inner loops matter more than L1 residency here, hence few rows of long panels: 4-row ×
 * 4096-value panels beat 16-row × 256-value ones, and keeping 64 rows of partial sums to reuse
 * 512-value activation slices from L2 gained nothing.
 * The blocking never changes a result: every (row, token) sum follows the one order of its kernel
 * ({@link FloatDotKernel}, {@link Q8DotKernel}), so a token's output does not depend on the rest of
 * its batch.
 */
public final class MatMul {

    /** Rows per unit of work handed to a thread. */
    private static final int ROW_GRAIN = 16;
    /** Rows decoded into one panel: one register tile high. */
    static final int BAND = 4;
    /** Values of a row per panel (a multiple of every block size): 4 rows × 4096 floats = 64 KB. */
    static final int KC = 4096;
    /**
     * Fewest tokens for which an integer kernel decodes panels: below, each token takes its own
     * {@link Q8DotKernel#dot} over the row (the same bits). Decoding a panel pays off once a token
     * tile of 2 × 3 is full: for 2 tokens the per-token dot products were faster on Q4_0 and Q4_K.
     */
    static final int Q8_PANEL_MIN_TOKENS = 3;
    /** Weight scales per panel row for the integer kernels: room for two per 32-value block. */
    private static final int SCALE_ROW = KC / 16;

    /** Per-thread panel and accumulators, grown on demand. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /** The calling thread's rounded activations, grown on demand. */
    private static final ThreadLocal<Q8Activations> ROUNDED = ThreadLocal.withInitial(Q8Activations::new);
    /** The calling thread's activations for the native kernels, grown on demand. */
    private static final ThreadLocal<NativeActivations> NATIVE_INPUT = ThreadLocal.withInitial(NativeActivations::new);

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;

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
        observe(w, x, tokens);
        if (w.type() == GgmlType.W8A8) {
            W8A8MatMul.matmul(parallel, new Tensor[] {w}, x, tokens, new float[][] {out});
            return;
        }
        NativeKernels nk = nativeFor(w);
        if (nk != null) {
            NativeActivations a = nativeActivations(nk, x, tokens, in, w);
            parallel.forRange(rows, ROW_GRAIN, (from, to) -> nk.rows(w, from, to, rows, a, tokens, out));
            return;
        }
        WeightKernel kernel = WeightKernel.of(w);
        MemorySegment seg = w.data();
        long rowBytes = w.rowBytes();
        Q8Activations xq = roundIfNeeded(x, tokens, in, kernel);
        float[] xs = scaleIfNeeded(x, tokens, in, kernel);
        parallel.forRange(rows, ROW_GRAIN,
                (from, to) -> rows(kernel, seg, rowBytes, in, rows, x, xq, xs, tokens, out, from, to));
    }

    /**
     * The dispatch seam between the Java and the native kernels ({@link Kernels}): the native
     * kernels in use when they multiply w, else null.
     */
    private static NativeKernels nativeFor(Tensor w) {
        NativeKernels nk = Kernels.active();
        return nk != null && NativeKernels.handles(w) ? nk : null;
    }

    /**
     * k, or when a native kernel takes its matrix ({@code n} not null) a kernel that needs no other
     * form of the activations: what {@link #roundIfNeeded} and {@link #scaleIfNeeded} look at.
     */
    private static WeightKernel javaOnly(WeightKernel k, NativeKernels n) {
        return n == null ? k : F32Kernel.INSTANCE;
    }

    /** The calling thread's activations for the native kernels, prepared for the layouts of ws that run natively. */
    private static NativeActivations nativeActivations(NativeKernels nk, float[] x, int tokens, int in, Tensor... ws) {
        boolean[] layouts = new boolean[NativeKernels.LAYOUTS];
        for (Tensor w : ws) {
            int layout = nativeFor(w) != null ? NativeKernels.layoutOf(w) : -1;
            if (layout >= 0) {
                layouts[layout] = true;
            }
        }
        NativeActivations a = NATIVE_INPUT.get();
        a.prepare(nk, x, tokens, in, layouts);
        return a;
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
            kernels[i] = ws[i].type() == GgmlType.W8A8 ? null : WeightKernel.of(ws[i]);
            // each matrix starts on a grain boundary so that no chunk straddles two matrices
            start[i + 1] = start[i] + (rows + ROW_GRAIN - 1) / ROW_GRAIN * ROW_GRAIN;
        }
        if (x.length < (long) tokens * in) {
            throw new IllegalArgumentException("matmul: input too small for " + tokens + " tokens");
        }
        int w8a8 = 0;
        for (Tensor w : ws) {
            observe(w, x, tokens);
            w8a8 += w.type() == GgmlType.W8A8 ? 1 : 0;
        }
        if (w8a8 == m) {
            W8A8MatMul.matmul(parallel, ws, x, tokens, outs);
            return;
        }
        if (w8a8 > 0) {
            // W8A8 rounds its activations per token and other types per block: one matrix at a time
            for (int i = 0; i < m; i++) {
                matmul(parallel, ws[i], x, tokens, outs[i]);
            }
            return;
        }
        NativeKernels[] nk = new NativeKernels[m];
        WeightKernel[] javaKernels = new WeightKernel[m];
        NativeKernels any = null;
        for (int i = 0; i < m; i++) {
            nk[i] = nativeFor(ws[i]);
            javaKernels[i] = javaOnly(kernels[i], nk[i]);
            any = nk[i] != null ? nk[i] : any;
        }
        NativeActivations na = any == null ? null : nativeActivations(any, x, tokens, in, ws);
        Q8Activations xq = roundIfNeeded(x, tokens, in, javaKernels);
        float[] xs = scaleIfNeeded(x, tokens, in, javaKernels);
        parallel.forRange(start[m], ROW_GRAIN, (from, to) -> {
            for (int i = 0; i < m; i++) {
                int rows = Math.toIntExact(ws[i].rowCount());
                int a = Math.max(from, start[i]) - start[i];
                int b = Math.min(Math.min(to, start[i + 1]) - start[i], rows);
                if (a < b && nk[i] != null) {
                    nk[i].rows(ws[i], a, b, rows, na, tokens, outs[i]);
                } else if (a < b) {
                    rows(kernels[i], ws[i].data(), ws[i].rowBytes(), in, rows, x, xq, xs, tokens, outs[i], a, b);
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
        observe(wGate, x, tokens);
        observe(wUp, x, tokens);
        if (wGate.type() == GgmlType.W8A8 && wUp.type() == GgmlType.W8A8) {
            W8A8MatMul.swiGlu(parallel, wGate, wUp, x, tokens, gate, up);
            return;
        }
        if (wGate.type() == GgmlType.W8A8 || wUp.type() == GgmlType.W8A8) {
            matmul(parallel, wGate, x, tokens, gate);
            matmul(parallel, wUp, x, tokens, up);
            parallel.forRange(rows, ROW_GRAIN, (from, to) -> {
                for (int t = 0; t < tokens; t++) {
                    VectorMath.siluMul(gate, up, t * rows + from, to - from);
                }
            });
            return;
        }
        WeightKernel kg = WeightKernel.of(wGate);
        WeightKernel ku = WeightKernel.of(wUp);
        NativeKernels ng = nativeFor(wGate);
        NativeKernels nu = nativeFor(wUp);
        NativeActivations na = ng != null || nu != null
                ? nativeActivations(ng != null ? ng : nu, x, tokens, in, wGate, wUp) : null;
        Q8Activations xq = roundIfNeeded(x, tokens, in, javaOnly(kg, ng), javaOnly(ku, nu));
        float[] xs = scaleIfNeeded(x, tokens, in, javaOnly(kg, ng), javaOnly(ku, nu));
        parallel.forRange(rows, ROW_GRAIN, (from, to) -> {
            if (ng != null) {
                ng.rows(wGate, from, to, rows, na, tokens, gate);
            } else {
                rows(kg, wGate.data(), wGate.rowBytes(), in, rows, x, xq, xs, tokens, gate, from, to);
            }
            if (nu != null) {
                nu.rows(wUp, from, to, rows, na, tokens, up);
            } else {
                rows(ku, wUp.data(), wUp.rowBytes(), in, rows, x, xq, xs, tokens, up, from, to);
            }
            for (int t = 0; t < tokens; t++) {
                VectorMath.siluMul(gate, up, t * rows + from, to - from);
            }
        });
    }

    /**
     * The 8-bit form of the activations, made once by the calling thread before the threads start,
     * when one of the kernels takes it; null otherwise.
     */
    private static Q8Activations roundIfNeeded(float[] x, int tokens, int in, WeightKernel... kernels) {
        boolean natural = false;
        boolean lanes = false;
        for (WeightKernel k : kernels) {
            natural |= k instanceof Q8DotKernel;
            lanes |= k instanceof LanesKernel;
        }
        if (!natural && !lanes) {
            return null;
        }
        Q8Activations xq = ROUNDED.get();
        xq.quantize(x, tokens, in, natural && tokens >= Q8_PANEL_MIN_TOKENS, lanes);
        return xq;
    }

    /**
     * One token's activations times 2^112, the form {@link F16Kernel#dotScaled} takes, made once by
     * the calling thread when one of the kernels is F16; null otherwise, for a batch (the matrix
     * kernels work from decoded panels) and when an activation is too large for the form to be exact.
     */
    private static float[] scaleIfNeeded(float[] x, int tokens, int in, WeightKernel... kernels) {
        boolean halves = false;
        for (WeightKernel k : kernels) {
            halves |= k instanceof F16Kernel;
        }
        if (tokens != 1 || !halves) {
            return null;
        }
        float[] xs = SCRATCH.get().scaled(in);
        return F16Kernel.scaleActivations(x, in, xs) ? xs : null;
    }

    /**
     * Rows [from, to) of W against all tokens; the per-thread body of {@link #matmul}. xq and xs are
     * the activations' other forms, or null: see {@link #roundIfNeeded} and {@link #scaleIfNeeded}.
     */
    static void rows(WeightKernel kernel, MemorySegment seg, long rowBytes, int in, int rows, float[] x,
            Q8Activations xq, float[] xs, int tokens, float[] out, int from, int to) {
        if (kernel instanceof Q8DotKernel k) {
            q8Rows(k, seg, rowBytes, in, rows, xq, tokens, out, from, to);
        } else if (kernel instanceof LanesKernel k) {
            laneRows(k, seg, rowBytes, in, rows, xq, tokens, out, from, to);
        } else if (xs != null && kernel instanceof F16Kernel k) {
            for (int r = from; r < to; r++) {
                out[r] = k.dotScaled(seg, r * rowBytes, xs, 0, in);
            }
        } else {
            floatRows((FloatDotKernel) kernel, seg, rowBytes, in, rows, x, tokens, out, from, to);
        }
    }

    private static void floatRows(FloatDotKernel kernel, MemorySegment seg, long rowBytes, int in, int rows,
            float[] x, int tokens, float[] out, int from, int to) {
        if (tokens == 1) {
            for (int r = from; r < to; r++) {
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
            for (int c = 0; c < in; c += KC) {
                int kcLen = Math.min(KC, in - c);
                long colOff = kernel.type().bytesFor(c);
                for (int r = 0; r < nr; r++) {
                    kernel.decodeRow(seg, (band + r) * rowBytes + colOff, panel, r * KC, kcLen);
                }
                int kv = Math.min(kcLen, vec - c);
                if (kv > 0) {
                    tiles(panel, nr, x, c, in, tokens, kv, acc, accStride);
                }
            }
            // lanes in their fixed order, then the tail, which sits in the last panel
            int tail = vec - (in - 1) / KC * KC;
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
        int kg = kv & ~31; // whole 32-value groups; then (float rows only) single 8-value vectors
        int t = 0;
        for (; t + 2 <= tokens; t += 2) {
            int r = 0;
            for (; r + 2 <= nr; r += 2) {
                tile2x2(panel, r * KC, KC, x, t * in + c, in, kg, acc, r * accStride + t * 8, accStride);
            }
            if (r < nr) {
                tile1x1(panel, r * KC, x, t * in + c, kg, acc, r * accStride + t * 8);
                tile1x1(panel, r * KC, x, (t + 1) * in + c, kg, acc, r * accStride + t * 8 + 8);
            }
        }
        if (t < tokens) {
            for (int r = 0; r < nr; r++) {
                tile1x1(panel, r * KC, x, t * in + c, kg, acc, r * accStride + t * 8);
            }
        }
        if (kg < kv) {
            for (int r = 0; r < nr; r++) {
                for (t = 0; t < tokens; t++) {
                    int a = r * accStride + t * 8;
                    FloatVector s = FloatVector.fromArray(F, acc, a);
                    for (int k = kg; k < kv; k += 8) {
                        s = FloatVector.fromArray(F, panel, r * KC + k).fma(FloatVector.fromArray(F, x, t * in + c + k), s);
                    }
                    s.intoArray(acc, a);
                }
            }
        }
    }

    /**
     * Rows w, w+ws of the panel × tokens x0, x0+xs, over kg values (whole groups of 32) in the group
     * order of {@link WeightKernel}: the two tokens' activations are held in 8 registers, each weight
     * vector is loaded once for both tokens. The strides are parameters on purpose: with the panel
     * stride as a compile-time constant C2 compiled a similar loop slower.
     */
    private static void tile2x2(float[] p, int w, int ws, float[] x, int x0, int xs, int kg, float[] acc, int a,
            int as) {
        int w1 = w + ws;
        int x1 = x0 + xs;
        FloatVector a00 = FloatVector.fromArray(F, acc, a);
        FloatVector a01 = FloatVector.fromArray(F, acc, a + 8);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + as);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + as + 8);
        for (int k = 0; k < kg; k += 32) {
            FloatVector xa0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector xa1 = FloatVector.fromArray(F, x, x0 + k + 8);
            FloatVector xa2 = FloatVector.fromArray(F, x, x0 + k + 16);
            FloatVector xa3 = FloatVector.fromArray(F, x, x0 + k + 24);
            FloatVector xb0 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector xb1 = FloatVector.fromArray(F, x, x1 + k + 8);
            FloatVector xb2 = FloatVector.fromArray(F, x, x1 + k + 16);
            FloatVector xb3 = FloatVector.fromArray(F, x, x1 + k + 24);
            FloatVector v0 = FloatVector.fromArray(F, p, w + k);
            FloatVector v1 = FloatVector.fromArray(F, p, w + k + 8);
            FloatVector v2 = FloatVector.fromArray(F, p, w + k + 16);
            FloatVector v3 = FloatVector.fromArray(F, p, w + k + 24);
            FloatVector s = v0.mul(xa0);
            FloatVector u = v2.mul(xa2);
            s = v1.fma(xa1, s);
            u = v3.fma(xa3, u);
            a00 = a00.add(s.add(u));
            s = v0.mul(xb0);
            u = v2.mul(xb2);
            s = v1.fma(xb1, s);
            u = v3.fma(xb3, u);
            a01 = a01.add(s.add(u));
            v0 = FloatVector.fromArray(F, p, w1 + k);
            v1 = FloatVector.fromArray(F, p, w1 + k + 8);
            v2 = FloatVector.fromArray(F, p, w1 + k + 16);
            v3 = FloatVector.fromArray(F, p, w1 + k + 24);
            s = v0.mul(xa0);
            u = v2.mul(xa2);
            s = v1.fma(xa1, s);
            u = v3.fma(xa3, u);
            a10 = a10.add(s.add(u));
            s = v0.mul(xb0);
            u = v2.mul(xb2);
            s = v1.fma(xb1, s);
            u = v3.fma(xb3, u);
            a11 = a11.add(s.add(u));
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + 8);
        a10.intoArray(acc, a + as);
        a11.intoArray(acc, a + as + 8);
    }

    /** One row × one token over kg values (band and batch edges). */
    private static void tile1x1(float[] p, int w, float[] x, int x0, int kg, float[] acc, int a) {
        FloatVector sum = FloatVector.fromArray(F, acc, a);
        for (int k = 0; k < kg; k += 32) {
            FloatVector s = FloatVector.fromArray(F, p, w + k).mul(FloatVector.fromArray(F, x, x0 + k));
            FloatVector u = FloatVector.fromArray(F, p, w + k + 16).mul(FloatVector.fromArray(F, x, x0 + k + 16));
            s = FloatVector.fromArray(F, p, w + k + 8).fma(FloatVector.fromArray(F, x, x0 + k + 8), s);
            u = FloatVector.fromArray(F, p, w + k + 24).fma(FloatVector.fromArray(F, x, x0 + k + 24), u);
            sum = sum.add(s.add(u));
        }
        sum.intoArray(acc, a);
    }

    /** {@link #floatRows} for an integer kernel: panels of integers and block scales, see {@link Q8DotKernel}. */
    private static void q8Rows(Q8DotKernel kernel, MemorySegment seg, long rowBytes, int in, int rows, Q8Activations xq,
            int tokens, float[] out, int from, int to) {
        if (tokens < Q8_PANEL_MIN_TOKENS) {
            for (int r = from; r < to; r++) {
                for (int t = 0; t < tokens; t++) {
                    out[t * rows + r] = kernel.dot(seg, r * rowBytes, xq, t * in, in);
                }
            }
            return;
        }
        Scratch scratch = SCRATCH.get();
        short[] panel = scratch.ints;
        float[] ws = scratch.intScales;
        int accStride = tokens * 8;
        float[] acc = scratch.acc(BAND * accStride);
        if (kernel.hasMins()) {
            scratch.growMins(BAND * (in / 32), BAND * tokens);
        }
        boolean halves = kernel.scalesPerBlock() == 2;
        short[] q = xq.q;
        float[] xd = xq.scale;
        for (int band = from; band < to; band += BAND) {
            int nr = Math.min(BAND, to - band);
            Arrays.fill(acc, 0, nr * accStride, 0f);
            for (int c = 0; c < in; c += KC) {
                int kcLen = Math.min(KC, in - c);
                long colOff = kernel.type().bytesFor(c);
                for (int r = 0; r < nr; r++) {
                    kernel.decodeShorts(seg, (band + r) * rowBytes + colOff, panel, r * KC, ws, r * SCALE_ROW, kcLen);
                }
                int nb = kcLen / 32;
                // tokens outside, rows inside: a group's activations are read from memory once per band
                int t = 0;
                for (; t + 3 <= tokens; t += 3) {
                    int r = 0;
                    for (; r + 2 <= nr; r += 2) {
                        int a = r * accStride + t * 8;
                        if (halves) {
                            intTile2x3Halves(panel, r * KC, ws, r * SCALE_ROW, q, xd, t * in + c, in, nb, acc, a, accStride);
                        } else {
                            intTile2x3(panel, r * KC, ws, r * SCALE_ROW, q, xd, t * in + c, in, nb, acc, a, accStride);
                        }
                    }
                    for (; r < nr; r++) {
                        for (int u = t; u < t + 3; u++) {
                            intTile1x1(panel, r * KC, ws, r * SCALE_ROW, q, xd, u * in + c, nb, halves, acc, r * accStride + u * 8);
                        }
                    }
                }
                for (; t < tokens; t++) {
                    for (int r = 0; r < nr; r++) {
                        intTile1x1(panel, r * KC, ws, r * SCALE_ROW, q, xd, t * in + c, nb, halves, acc, r * accStride + t * 8);
                    }
                }
            }
            float[] ms = null;
            if (kernel.hasMins()) {
                for (int r = 0; r < nr; r++) {
                    kernel.decodeMins(seg, (band + r) * rowBytes, scratch.mins, r * (in / 32), in);
                }
                ms = minSums(scratch.mins, nr, in / 32, xq.sumsByGroup, tokens, scratch.minSums);
            }
            for (int r = 0; r < nr; r++) {
                for (int t = 0; t < tokens; t++) {
                    float sum = WeightKernel.lanes(acc, r * accStride + t * 8);
                    out[t * rows + band + r] = ms == null ? sum : sum - ms[r * tokens + t];
                }
            }
        }
    }

    /**
     * The minimum terms of nr rows ({@code m}: nb block minimums per row) for every token, into
     * {@code ms[r · tokens + t]}, in the order {@link Q8DotKernel#hasMins} prescribes, eight tokens
     * a vector. x holds the activation sums by groups of eight tokens ({@link
     * Q8Activations#sumsByGroup}); a group's sums (nb × 8 floats) are read once per band from L2
     * and then from L1 for each row (one row at a time, they were read from L2 per row, a visible
     * share of a Q4_K_M prefill).
     */
    private static float[] minSums(float[] m, int nr, int nb, float[] x, int tokens, float[] ms) {
        int t = 0;
        for (; t + 8 <= tokens; t += 8) {
            int base = t / 8 * nb * 8;
            for (int r = 0; r < nr; r++) {
                int mr = r * nb;
                FloatVector g0 = FloatVector.zero(F);
                FloatVector g1 = g0, g2 = g0, g3 = g0, g4 = g0, g5 = g0, g6 = g0, g7 = g0;
                for (int b = 0; b < nb; b += 8) {
                    int o = base + b * 8;
                    g0 = FloatVector.broadcast(F, m[mr + b]).fma(FloatVector.fromArray(F, x, o), g0);
                    g1 = FloatVector.broadcast(F, m[mr + b + 1]).fma(FloatVector.fromArray(F, x, o + 8), g1);
                    g2 = FloatVector.broadcast(F, m[mr + b + 2]).fma(FloatVector.fromArray(F, x, o + 16), g2);
                    g3 = FloatVector.broadcast(F, m[mr + b + 3]).fma(FloatVector.fromArray(F, x, o + 24), g3);
                    g4 = FloatVector.broadcast(F, m[mr + b + 4]).fma(FloatVector.fromArray(F, x, o + 32), g4);
                    g5 = FloatVector.broadcast(F, m[mr + b + 5]).fma(FloatVector.fromArray(F, x, o + 40), g5);
                    g6 = FloatVector.broadcast(F, m[mr + b + 6]).fma(FloatVector.fromArray(F, x, o + 48), g6);
                    g7 = FloatVector.broadcast(F, m[mr + b + 7]).fma(FloatVector.fromArray(F, x, o + 56), g7);
                }
                g0.add(g1).add(g2.add(g3)).add(g4.add(g5).add(g6.add(g7))).intoArray(ms, r * tokens + t);
            }
        }
        float[] g = new float[8];
        for (; t < tokens; t++) {
            int base = t / 8 * nb * 8 + t % 8;
            for (int r = 0; r < nr; r++) {
                Arrays.fill(g, 0f);
                for (int b = 0; b < nb; b += 8) {
                    for (int k = 0; k < 8; k++) {
                        g[k] = Math.fma(m[r * nb + b + k], x[base + (b + k) * 8], g[k]);
                    }
                }
                ms[r * tokens + t] = WeightKernel.lanes(g, 0);
            }
        }
        return ms;
    }

    /**
     * Rows w and w + KC of an integer panel × tokens x0, x0+xs, x0+2xs over nb blocks, each (row,
     * token, block) computed as {@link Q8DotKernel#dot} does: the 16-bit products of the block's two
     * halves added, neighbouring lanes summed into eight int lanes, converted and accumulated with
     * fma(·, d_w·d_x). The rows' four weight vectors stay in registers for the three tokens; a
     * token's two activation vectors serve both rows. Six accumulators, four weight vectors, two
     * activation vectors and the temporaries fill AVX2's sixteen registers.
     */
    private static void intTile2x3(short[] p, int w, float[] ws, int s, short[] q, float[] xd, int x0, int xs, int nb,
            float[] acc, int a, int as) {
        int w1 = w + KC;
        int s1 = s + SCALE_ROW;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        FloatVector a00 = FloatVector.fromArray(F, acc, a);
        FloatVector a01 = FloatVector.fromArray(F, acc, a + 8);
        FloatVector a02 = FloatVector.fromArray(F, acc, a + 16);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + as);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + as + 8);
        FloatVector a12 = FloatVector.fromArray(F, acc, a + as + 16);
        for (int b = 0, k = 0; b < nb; b++, k += 32) {
            ShortVector v00 = ShortVector.fromArray(S16, p, w + k);
            ShortVector v01 = ShortVector.fromArray(S16, p, w + k + 16);
            ShortVector v10 = ShortVector.fromArray(S16, p, w1 + k);
            ShortVector v11 = ShortVector.fromArray(S16, p, w1 + k + 16);
            float d0 = ws[s + b];
            float d1 = ws[s1 + b];
            ShortVector y0 = ShortVector.fromArray(S16, q, x0 + k);
            ShortVector y1 = ShortVector.fromArray(S16, q, x0 + k + 16);
            float dx = xd[(x0 + k) >> 5];
            IntVector pr = v00.mul(y0).add(v01.mul(y1)).reinterpretAsInts();
            a00 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d0 * dx), a00);
            pr = v10.mul(y0).add(v11.mul(y1)).reinterpretAsInts();
            a10 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d1 * dx), a10);
            y0 = ShortVector.fromArray(S16, q, x1 + k);
            y1 = ShortVector.fromArray(S16, q, x1 + k + 16);
            dx = xd[(x1 + k) >> 5];
            pr = v00.mul(y0).add(v01.mul(y1)).reinterpretAsInts();
            a01 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d0 * dx), a01);
            pr = v10.mul(y0).add(v11.mul(y1)).reinterpretAsInts();
            a11 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d1 * dx), a11);
            y0 = ShortVector.fromArray(S16, q, x2 + k);
            y1 = ShortVector.fromArray(S16, q, x2 + k + 16);
            dx = xd[(x2 + k) >> 5];
            pr = v00.mul(y0).add(v01.mul(y1)).reinterpretAsInts();
            a02 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d0 * dx), a02);
            pr = v10.mul(y0).add(v11.mul(y1)).reinterpretAsInts();
            a12 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d1 * dx), a12);
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + 8);
        a02.intoArray(acc, a + 16);
        a10.intoArray(acc, a + as);
        a11.intoArray(acc, a + as + 8);
        a12.intoArray(acc, a + as + 16);
    }

    /**
     * {@link #intTile2x3} for blocks with a scale per half ({@link Q8DotKernel#scalesPerBlock}): each
     * half's pair sums are converted and added with fma(·, d_w·d_x), d_w that of the half.
     */
    private static void intTile2x3Halves(short[] p, int w, float[] ws, int s, short[] q, float[] xd, int x0, int xs,
            int nb, float[] acc, int a, int as) {
        int w1 = w + KC;
        int s1 = s + SCALE_ROW;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        FloatVector a00 = FloatVector.fromArray(F, acc, a);
        FloatVector a01 = FloatVector.fromArray(F, acc, a + 8);
        FloatVector a02 = FloatVector.fromArray(F, acc, a + 16);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + as);
        FloatVector a11 = FloatVector.fromArray(F, acc, a + as + 8);
        FloatVector a12 = FloatVector.fromArray(F, acc, a + as + 16);
        for (int b = 0, k = 0; b < nb; b++, k += 32) {
            ShortVector v00 = ShortVector.fromArray(S16, p, w + k);
            ShortVector v01 = ShortVector.fromArray(S16, p, w + k + 16);
            ShortVector v10 = ShortVector.fromArray(S16, p, w1 + k);
            ShortVector v11 = ShortVector.fromArray(S16, p, w1 + k + 16);
            int sb = 2 * b;
            ShortVector y0 = ShortVector.fromArray(S16, q, x0 + k);
            ShortVector y1 = ShortVector.fromArray(S16, q, x0 + k + 16);
            float dx = xd[(x0 + k) >> 5];
            IntVector pr = v00.mul(y0).reinterpretAsInts();
            a00 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb] * dx), a00);
            pr = v01.mul(y1).reinterpretAsInts();
            a00 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb + 1] * dx), a00);
            pr = v10.mul(y0).reinterpretAsInts();
            a10 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb] * dx), a10);
            pr = v11.mul(y1).reinterpretAsInts();
            a10 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb + 1] * dx), a10);
            y0 = ShortVector.fromArray(S16, q, x1 + k);
            y1 = ShortVector.fromArray(S16, q, x1 + k + 16);
            dx = xd[(x1 + k) >> 5];
            pr = v00.mul(y0).reinterpretAsInts();
            a01 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb] * dx), a01);
            pr = v01.mul(y1).reinterpretAsInts();
            a01 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb + 1] * dx), a01);
            pr = v10.mul(y0).reinterpretAsInts();
            a11 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb] * dx), a11);
            pr = v11.mul(y1).reinterpretAsInts();
            a11 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb + 1] * dx), a11);
            y0 = ShortVector.fromArray(S16, q, x2 + k);
            y1 = ShortVector.fromArray(S16, q, x2 + k + 16);
            dx = xd[(x2 + k) >> 5];
            pr = v00.mul(y0).reinterpretAsInts();
            a02 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb] * dx), a02);
            pr = v01.mul(y1).reinterpretAsInts();
            a02 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + sb + 1] * dx), a02);
            pr = v10.mul(y0).reinterpretAsInts();
            a12 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb] * dx), a12);
            pr = v11.mul(y1).reinterpretAsInts();
            a12 = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s1 + sb + 1] * dx), a12);
        }
        a00.intoArray(acc, a);
        a01.intoArray(acc, a + 8);
        a02.intoArray(acc, a + 16);
        a10.intoArray(acc, a + as);
        a11.intoArray(acc, a + as + 8);
        a12.intoArray(acc, a + as + 16);
    }

    /** One row × one token of an integer panel, one scale per block or per half (band and batch edges). */
    private static void intTile1x1(short[] p, int w, float[] ws, int s, short[] q, float[] xd, int x0, int nb,
            boolean halves, float[] acc, int a) {
        FloatVector sum = FloatVector.fromArray(F, acc, a);
        for (int b = 0, k = 0; b < nb; b++, k += 32) {
            float dx = xd[(x0 + k) >> 5];
            ShortVector v0 = ShortVector.fromArray(S16, p, w + k);
            ShortVector v1 = ShortVector.fromArray(S16, p, w + k + 16);
            ShortVector y0 = ShortVector.fromArray(S16, q, x0 + k);
            ShortVector y1 = ShortVector.fromArray(S16, q, x0 + k + 16);
            if (halves) {
                IntVector pr = v0.mul(y0).reinterpretAsInts();
                sum = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + 2 * b] * dx), sum);
                pr = v1.mul(y1).reinterpretAsInts();
                sum = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + 2 * b + 1] * dx), sum);
            } else {
                IntVector pr = v0.mul(y0).add(v1.mul(y1)).reinterpretAsInts();
                sum = ((FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, ws[s + b] * dx), sum);
            }
        }
        sum.intoArray(acc, a);
    }

    /**
     * {@link #q8Rows} for rows in lane order ({@link LanesKernel}): a band's values are decoded
     * once into a panel of shorts in lane order, with the block scales and offsets, and every token
     * passes over it two rows and two tokens at a time ({@link #laneTile2x2}, {@link #lane8Tile2x2} for
     * Q8_0; one row for Q6_K, {@link #lane6Tile1x2}); one or two tokens take the kernel's dot product.
     */
    private static void laneRows(LanesKernel kernel, MemorySegment seg, long rowBytes, int in, int rows,
            Q8Activations xq, int tokens, float[] out, int from, int to) {
        if (tokens < Q8_PANEL_MIN_TOKENS) {
            for (int r = from; r < to; r++) {
                for (int t = 0; t < tokens; t++) {
                    out[t * rows + r] = kernel.dot(seg, r * rowBytes, xq, t * in, in);
                }
            }
            return;
        }
        boolean sixBit = kernel instanceof Q6KLanesKernel;
        boolean eightBit = kernel instanceof Q8_0LanesKernel;
        Scratch scratch = SCRATCH.get();
        short[] panel = scratch.ints;
        float[] ws = scratch.intScales;
        float[] wm = scratch.laneOffsets;
        int accStride = tokens * 8;
        float[] acc = scratch.acc(BAND * accStride);
        for (int band = from; band < to; band += BAND) {
            int nr = Math.min(BAND, to - band);
            Arrays.fill(acc, 0, nr * accStride, 0f);
            for (int c = 0; c < in; c += KC) {
                int kcLen = Math.min(KC, in - c);
                long colOff = kernel.type().bytesFor(c);
                for (int r = 0; r < nr; r++) {
                    kernel.decodeLanes(seg, (band + r) * rowBytes + colOff, panel, r * KC, ws, wm, r * SCALE_ROW, kcLen);
                }
                int nc = kcLen / LanesKernel.CHUNK;
                for (int t = 0; t < tokens; t += 2) {
                    int u = Math.min(t + 1, tokens - 1); // an odd last token is paired with itself
                    int y = t * in + c;
                    int z = u * in + c;
                    int at = t * 8;
                    int au = u * 8;
                    for (int r = 0; r < nr; r += sixBit ? 1 : 2) {
                        int a = r * accStride;
                        int r1 = Math.min(r + 1, nr - 1); // an odd last row is paired with itself
                        int as = (r1 - r) * accStride;
                        if (sixBit) {
                            lane6Tile1x2(panel, r * KC, ws, r * SCALE_ROW, xq, y, z, nc, acc, a + at, a + au);
                        } else if (eightBit) {
                            lane8Tile2x2(panel, r * KC, r1 * KC, ws, r * SCALE_ROW, r1 * SCALE_ROW, xq, y, z, nc, acc, a + at, a + au, as);
                        } else {
                            laneTile2x2(panel, r * KC, r1 * KC, ws, wm, r * SCALE_ROW, r1 * SCALE_ROW, xq, y, z, nc, acc, a + at, a + au, as);
                        }
                    }
                }
            }
            for (int r = 0; r < nr; r++) {
                for (int t = 0; t < tokens; t++) {
                    out[t * rows + band + r] = WeightKernel.lanes(acc, r * accStride + t * 8);
                }
            }
        }
    }

    /**
     * Two rows (panel rows w and w1) × two tokens of a lane-order panel over nc chunks of 256
     * values, each weight vector loaded once for both tokens and each activation vector once for
     * both rows; each chunk summed in 16-bit lanes and scaled as {@link NibbleLanesKernel}'s dot
     * product does: neighbouring lanes into one int per block, converted, {@code fma(S·d_x, s, a)}
     * with the chunk's eight block scales s, then {@code fma(m, X, a)} with their offsets m. The
     * inner loop runs a constant 16 steps from j = 0, the chunk's offsets added once; written from
     * k to k + 256 it kept range checks around every chunk, with the offsets spilled to the stack
     * (the constant trip count avoids both; two rows at a time then halve the activation loads). C2 (JDK 25) does not unroll the 16 steps in full: it peels one, unrolls
     * a main loop four times and leaves a post-loop, with one 16-bit sum spilled; the bench
     * module's {@code TileProbe} measures this shape against a flat loop. Written out step by step,
     * wider tiles had all their loads hoisted and spilled. A band's odd last row is passed as both
     * rows ({@code w1 = w}, {@code as = 0}): the two results are the same bits.
     */
    private static void laneTile2x2(short[] p, int w, int w1, float[] ws, float[] wm, int s, int s1, Q8Activations xq,
            int x0, int x1, int nc, float[] acc, int a0, int a1, int as) {
        short[] q = xq.lanes;
        FloatVector s00 = FloatVector.fromArray(F, acc, a0);
        FloatVector s01 = FloatVector.fromArray(F, acc, a1);
        FloatVector s10 = FloatVector.fromArray(F, acc, a0 + as);
        FloatVector s11 = FloatVector.fromArray(F, acc, a1 + as);
        for (int c = 0; c < nc; c++) {
            int wk = w + c * LanesKernel.CHUNK;
            int vk = w1 + c * LanesKernel.CHUNK;
            int yk = x0 + c * LanesKernel.CHUNK;
            int zk = x1 + c * LanesKernel.CHUNK;
            ShortVector l00 = ShortVector.zero(S16);
            ShortVector l01 = ShortVector.zero(S16);
            ShortVector l10 = ShortVector.zero(S16);
            ShortVector l11 = ShortVector.zero(S16);
            for (int j = 0; j < LanesKernel.CHUNK; j += 16) {
                ShortVector v = ShortVector.fromArray(S16, p, wk + j);
                ShortVector u = ShortVector.fromArray(S16, p, vk + j);
                ShortVector y = ShortVector.fromArray(S16, q, yk + j);
                ShortVector z = ShortVector.fromArray(S16, q, zk + j);
                l00 = l00.add(v.mul(y));
                l01 = l01.add(v.mul(z));
                l10 = l10.add(u.mul(y));
                l11 = l11.add(u.mul(z));
            }
            FloatVector dy = FloatVector.fromArray(F, xq.scale, yk >> 5);
            FloatVector dz = FloatVector.fromArray(F, xq.scale, zk >> 5);
            FloatVector my = FloatVector.fromArray(F, xq.sums, yk >> 5);
            FloatVector mz = FloatVector.fromArray(F, xq.sums, zk >> 5);
            FloatVector d = FloatVector.fromArray(F, ws, s + c * 8);
            FloatVector m = FloatVector.fromArray(F, wm, s + c * 8);
            IntVector pr = l00.reinterpretAsInts();
            FloatVector f = (FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s00 = m.fma(my, f.mul(dy).fma(d, s00));
            pr = l01.reinterpretAsInts();
            f = (FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s01 = m.fma(mz, f.mul(dz).fma(d, s01));
            d = FloatVector.fromArray(F, ws, s1 + c * 8);
            m = FloatVector.fromArray(F, wm, s1 + c * 8);
            pr = l10.reinterpretAsInts();
            f = (FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s10 = m.fma(my, f.mul(dy).fma(d, s10));
            pr = l11.reinterpretAsInts();
            f = (FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s11 = m.fma(mz, f.mul(dz).fma(d, s11));
        }
        s00.intoArray(acc, a0);
        s01.intoArray(acc, a1);
        s10.intoArray(acc, a0 + as);
        s11.intoArray(acc, a1 + as);
    }

    /**
     * {@link #laneTile2x2} for Q8_0 ({@link Q8_0LanesKernel#dot}): two steps' products added in 16
     * bits, then their neighbouring lanes as ints into one sum per block, converted and scaled with
     * the chunk's eight d.
     */
    private static void lane8Tile2x2(short[] p, int w, int w1, float[] ws, int s, int s1, Q8Activations xq, int x0,
            int x1, int nc, float[] acc, int a0, int a1, int as) {
        short[] q = xq.lanes;
        FloatVector s00 = FloatVector.fromArray(F, acc, a0);
        FloatVector s01 = FloatVector.fromArray(F, acc, a1);
        FloatVector s10 = FloatVector.fromArray(F, acc, a0 + as);
        FloatVector s11 = FloatVector.fromArray(F, acc, a1 + as);
        for (int c = 0; c < nc; c++) {
            int wk = w + c * LanesKernel.CHUNK;
            int vk = w1 + c * LanesKernel.CHUNK;
            int yk = x0 + c * LanesKernel.CHUNK;
            int zk = x1 + c * LanesKernel.CHUNK;
            IntVector b00 = IntVector.zero(IntVector.SPECIES_256);
            IntVector b01 = IntVector.zero(IntVector.SPECIES_256);
            IntVector b10 = IntVector.zero(IntVector.SPECIES_256);
            IntVector b11 = IntVector.zero(IntVector.SPECIES_256);
            for (int j = 0; j < LanesKernel.CHUNK; j += 32) {
                ShortVector y = ShortVector.fromArray(S16, q, yk + j);
                ShortVector y1 = ShortVector.fromArray(S16, q, yk + j + 16);
                ShortVector z = ShortVector.fromArray(S16, q, zk + j);
                ShortVector z1 = ShortVector.fromArray(S16, q, zk + j + 16);
                ShortVector v = ShortVector.fromArray(S16, p, wk + j);
                ShortVector v1 = ShortVector.fromArray(S16, p, wk + j + 16);
                IntVector t = v.mul(y).add(v1.mul(y1)).reinterpretAsInts();
                b00 = b00.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
                t = v.mul(z).add(v1.mul(z1)).reinterpretAsInts();
                b01 = b01.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
                v = ShortVector.fromArray(S16, p, vk + j);
                v1 = ShortVector.fromArray(S16, p, vk + j + 16);
                t = v.mul(y).add(v1.mul(y1)).reinterpretAsInts();
                b10 = b10.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
                t = v.mul(z).add(v1.mul(z1)).reinterpretAsInts();
                b11 = b11.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            }
            FloatVector dy = FloatVector.fromArray(F, xq.scale, yk >> 5);
            FloatVector dz = FloatVector.fromArray(F, xq.scale, zk >> 5);
            FloatVector d = FloatVector.fromArray(F, ws, s + c * 8);
            s00 = ((FloatVector) b00.convert(VectorOperators.I2F, 0)).mul(dy).fma(d, s00);
            s01 = ((FloatVector) b01.convert(VectorOperators.I2F, 0)).mul(dz).fma(d, s01);
            d = FloatVector.fromArray(F, ws, s1 + c * 8);
            s10 = ((FloatVector) b10.convert(VectorOperators.I2F, 0)).mul(dy).fma(d, s10);
            s11 = ((FloatVector) b11.convert(VectorOperators.I2F, 0)).mul(dz).fma(d, s11);
        }
        s00.intoArray(acc, a0);
        s01.intoArray(acc, a1);
        s10.intoArray(acc, a0 + as);
        s11.intoArray(acc, a1 + as);
    }

    /**
     * One row × two tokens for Q6_K ({@link Q6KLanesKernel#dot}; see {@link #laneTile2x2}, whose
     * two-row form would need 16 registers here): values q − 32, steps 0-7 and 8-15
     * summed in two 16-bit accumulators, the even and the odd lanes taken from their int view and
     * scaled with the chunk's 16 scales d·sc (even sub-blocks first).
     */
    private static void lane6Tile1x2(short[] p, int w, float[] ws, int s, Q8Activations xq, int x0, int x1, int nc,
            float[] acc, int a0, int a1) {
        short[] q = xq.lanes;
        FloatVector sum0 = FloatVector.fromArray(F, acc, a0);
        FloatVector sum1 = FloatVector.fromArray(F, acc, a1);
        for (int c = 0; c < nc; c++) {
            int wk = w + c * LanesKernel.CHUNK;
            int yk = x0 + c * LanesKernel.CHUNK;
            int zk = x1 + c * LanesKernel.CHUNK;
            ShortVector first0 = ShortVector.zero(S16);
            ShortVector second0 = ShortVector.zero(S16);
            ShortVector first1 = ShortVector.zero(S16);
            ShortVector second1 = ShortVector.zero(S16);
            for (int j = 0; j < 128; j += 16) {
                ShortVector v = ShortVector.fromArray(S16, p, wk + j);
                ShortVector u = ShortVector.fromArray(S16, p, wk + j + 128);
                first0 = first0.add(v.mul(ShortVector.fromArray(S16, q, yk + j)));
                second0 = second0.add(u.mul(ShortVector.fromArray(S16, q, yk + j + 128)));
                first1 = first1.add(v.mul(ShortVector.fromArray(S16, q, zk + j)));
                second1 = second1.add(u.mul(ShortVector.fromArray(S16, q, zk + j + 128)));
            }
            FloatVector de = FloatVector.fromArray(F, ws, s + c * 16);
            FloatVector dd = FloatVector.fromArray(F, ws, s + c * 16 + 8);
            IntVector f = first0.reinterpretAsInts();
            IntVector g = second0.reinterpretAsInts();
            FloatVector even = (FloatVector) f.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(g.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            FloatVector odd = (FloatVector) f.lanewise(VectorOperators.ASHR, 16).add(g.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            FloatVector dx = FloatVector.fromArray(F, xq.scale, yk >> 5);
            sum0 = even.mul(dx).fma(de, sum0);
            sum0 = odd.mul(dx).fma(dd, sum0);
            f = first1.reinterpretAsInts();
            g = second1.reinterpretAsInts();
            even = (FloatVector) f.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(g.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            odd = (FloatVector) f.lanewise(VectorOperators.ASHR, 16).add(g.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            dx = FloatVector.fromArray(F, xq.scale, zk >> 5);
            sum1 = even.mul(dx).fma(de, sum1);
            sum1 = odd.mul(dx).fma(dd, sum1);
        }
        sum0.intoArray(acc, a0);
        sum1.intoArray(acc, a1);
    }

    private static final class Scratch {
        /** Float rows (float kernels). */
        final float[] panel = new float[BAND * KC];
        /** Integer rows and their block scales (integer kernels). */
        final short[] ints = new short[BAND * KC];
        final float[] intScales = new float[BAND * SCALE_ROW];
        /** The blocks' offsets of lane-order rows. */
        final float[] laneOffsets = new float[BAND * SCALE_ROW];
        float[] acc = new float[0];
        /** One row's block minimums and its minimum term per token (kernels with minimums). */
        float[] mins = new float[0];
        float[] minSums = new float[0];
        /** This thread's activations scaled for F16 decode, read by all threads of one operation. */
        float[] scaled = new float[0];

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }

        float[] scaled(int n) {
            if (scaled.length < n) {
                scaled = new float[n];
            }
            return scaled;
        }

        void growMins(int blocks, int tokens) {
            if (mins.length < blocks) {
                mins = new float[blocks];
            }
            if (minSums.length < tokens) {
                minSums = new float[tokens];
            }
        }
    }

    /** Copies row {@code r} of an embedding-like tensor into dst as floats. */
    public static void row(Tensor w, long r, float[] dst, int dstOff) {
        if (w.type() == GgmlType.W8A8) {
            W8A8MatMul.decodeRow(w, r, dst, dstOff);
            return;
        }
        WeightKernel.of(w).decodeRow(w.data(), r * w.rowBytes(), dst, dstOff, w.rowLength());
    }

    /**
     * Sees the input of every matrix product while installed ({@link #observe(ActivationObserver)}):
     * how calibration (SmoothQuant) collects each linear layer's activation statistics from real
     * forward passes. Called by the thread that starts the product, before it runs.
     */
    @FunctionalInterface
    public interface ActivationObserver {
        /** {@code tokens} rows of {@code w.rowLength()} values of x are about to be multiplied by w. */
        void input(Tensor w, float[] x, int tokens);
    }

    private static volatile ActivationObserver observer;

    /**
     * Installs an observer until the returned handle is closed; one at a time, process-wide (a
     * calibration run owns the process's forward passes while it lasts).
     */
    public static synchronized AutoCloseable observe(ActivationObserver o) {
        if (observer != null) {
            throw new IllegalStateException("an activation observer is installed already");
        }
        observer = o;
        return () -> {
            synchronized (MatMul.class) {
                observer = null;
            }
        };
    }

    private static void observe(Tensor w, float[] x, int tokens) {
        ActivationObserver o = observer;
        if (o != null) {
            o.input(w, x, tokens);
        }
    }
}
