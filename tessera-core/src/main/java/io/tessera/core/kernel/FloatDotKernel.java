package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * A weight kernel that multiplies float activations: the float types, Q8_0 and Q4_1.
 *
 * <p><b>One summation order.</b> A (row, token) result is always computed the same way from the
 * rebuilt weights w[i] (the same floats whichever method rebuilds them): each group of 32 values,
 * as four 8-lane vectors w0..w3 against x0..x3, gives {@code g = fma(w1, x1, w0·x0) + fma(w3, x3,
 * w2·x2)}, added to one accumulator in ascending order ({@code a = a + g}); a float row's remaining
 * 8-value vectors follow with {@code a = fma(w, x, a)}; the lanes are added in a fixed order (never
 * {@code reduceLanes}, whose order is unspecified), and a tail shorter than 8 values is added last,
 * one product at a time. {@link #dot} and the matrix kernels of {@link MatMul}, which work from
 * {@link #decodeRow}'s floats, both follow it, so a token's output does not depend on which other
 * tokens share its batch, on the tiling, or on the thread count. Tests check this bit for bit.
 *
 * <p>Why this order: one row's dot product then carries a single dependent add per 32 values, so
 * decoding a row is not bound by the latency of its multiply-adds (as a plain per-lane multiply-add
 * chain is), while a 2-row × 2-token register tile of the matrix kernel runs about as fast as the
 * plain chain's best tile.
 */
abstract class FloatDotKernel extends WeightKernel {

    FloatDotKernel(GgmlType type) {
        super(type);
    }

    /** Σ W[i]·x[xOff+i] for i < n, W being the n values stored at {@code w[off..]}. */
    abstract float dot(MemorySegment w, long off, float[] x, int xOff, int n);
}
