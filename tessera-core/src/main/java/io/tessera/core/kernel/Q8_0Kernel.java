package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0: blocks of 32 values, a half-precision scale d then 32 signed bytes; value = d·q. Per block
 * the integer values are widened to floats, multiplied with the activations in a fixed chain, and
 * the block sum is scaled once: {@code acc += d · Σ q·x}.
 */
final class Q8_0Kernel extends WeightKernel {

    static final Q8_0Kernel INSTANCE = new Q8_0Kernel();
    private static final int BLOCK = 34;

    private Q8_0Kernel() {
        super(GgmlType.Q8_0);
    }

    static FloatVector q(MemorySegment w, long p) {
        return (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p, LE)
                .convertShape(VectorOperators.B2F, F, 0);
    }

    static FloatVector block(FloatVector q0, FloatVector q1, FloatVector q2, FloatVector q3, float[] x, int xi) {
        FloatVector s = q0.mul(FloatVector.fromArray(F, x, xi));
        s = q1.fma(FloatVector.fromArray(F, x, xi + 8), s);
        s = q2.fma(FloatVector.fromArray(F, x, xi + 16), s);
        return q3.fma(FloatVector.fromArray(F, x, xi + 24), s);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 32);
        FloatVector acc = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 32, p += BLOCK) {
            FloatVector s = block(q(w, p + 2), q(w, p + 10), q(w, p + 18), q(w, p + 26), x, xOff + i);
            acc = s.fma(FloatVector.broadcast(F, f16(w, p)), acc);
        }
        return sum(acc);
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        checkBlocks(n, 32);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long p = off;
        for (int i = 0; i < n; i += 32, p += BLOCK) {
            FloatVector q0 = q(w, p + 2);
            FloatVector q1 = q(w, p + 10);
            FloatVector q2 = q(w, p + 18);
            FloatVector q3 = q(w, p + 26);
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            a0 = block(q0, q1, q2, q3, x, xOff + i).fma(d, a0);
            a1 = block(q0, q1, q2, q3, x, xOff + xStride + i).fma(d, a1);
            a2 = block(q0, q1, q2, q3, x, xOff + 2 * xStride + i).fma(d, a2);
            a3 = block(q0, q1, q2, q3, x, xOff + 3 * xStride + i).fma(d, a3);
        }
        out[outOff] = sum(a0);
        out[outOff + outStride] = sum(a1);
        out[outOff + 2 * outStride] = sum(a2);
        out[outOff + 3 * outStride] = sum(a3);
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 32);
        for (int b = 0; b < n / 32; b++) {
            long p = off + (long) b * BLOCK;
            float d = f16(w, p);
            for (int j = 0; j < 32; j++) {
                dst[dstOff + b * 32 + j] = d * w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 2 + j);
            }
        }
    }
}
