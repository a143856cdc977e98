package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0: blocks of 32 values, a half-precision scale d then 32 signed bytes; value = d·q. Per block
 * the bytes are widened to floats, multiplied with the activations in a fixed chain, and the block
 * sum is scaled once: {@code acc += d · Σ q·x}.
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class Q8_0Kernel extends WeightKernel {

    static final Q8_0Kernel INSTANCE = new Q8_0Kernel();

    private Q8_0Kernel() {
        super(GgmlType.Q8_0);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 32);
        FloatVector a0 = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 32, p += 34) {
            int xi = i;
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 2, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 10, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w2 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 18, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w3 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 26, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, xOff + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, xOff + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, xOff + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, xOff + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = s0.fma(d, a0);
        }
        float[] l = new float[8];
        a0.intoArray(l, 0);
        return lanes(l, 0);
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        checkBlocks(n, 32);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        long p = off;
        for (int i = 0; i < n; i += 32, p += 34) {
            int xi = i;
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 2, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 10, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w2 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 18, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector w3 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 26, LE).convertShape(VectorOperators.B2F, F, 0));
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, x0 + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, x0 + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, x0 + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = s0.fma(d, a0);
            FloatVector s1 = w0.mul(FloatVector.fromArray(F, x, x1 + xi + 0));
            FloatVector u1 = w2.mul(FloatVector.fromArray(F, x, x1 + xi + 16));
            s1 = w1.fma(FloatVector.fromArray(F, x, x1 + xi + 8), s1);
            u1 = w3.fma(FloatVector.fromArray(F, x, x1 + xi + 24), u1);
            s1 = s1.add(u1);
            a1 = s1.fma(d, a1);
            FloatVector s2 = w0.mul(FloatVector.fromArray(F, x, x2 + xi + 0));
            FloatVector u2 = w2.mul(FloatVector.fromArray(F, x, x2 + xi + 16));
            s2 = w1.fma(FloatVector.fromArray(F, x, x2 + xi + 8), s2);
            u2 = w3.fma(FloatVector.fromArray(F, x, x2 + xi + 24), u2);
            s2 = s2.add(u2);
            a2 = s2.fma(d, a2);
            FloatVector s3 = w0.mul(FloatVector.fromArray(F, x, x3 + xi + 0));
            FloatVector u3 = w2.mul(FloatVector.fromArray(F, x, x3 + xi + 16));
            s3 = w1.fma(FloatVector.fromArray(F, x, x3 + xi + 8), s3);
            u3 = w3.fma(FloatVector.fromArray(F, x, x3 + xi + 24), u3);
            s3 = s3.add(u3);
            a3 = s3.fma(d, a3);
        }
        float[] l = new float[32];
        a0.intoArray(l, 0);
        a1.intoArray(l, 8);
        a2.intoArray(l, 16);
        a3.intoArray(l, 24);
        out[outOff] = lanes(l, 0);
        out[outOff + outStride] = lanes(l, 8);
        out[outOff + 2 * outStride] = lanes(l, 16);
        out[outOff + 3 * outStride] = lanes(l, 24);
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 32);
        for (int b = 0; b < n / 32; b++) {
            long p = off + (long) b * 34;
            float d = f16(w, p);
            for (int j = 0; j < 32; j++) {
                dst[dstOff + b * 32 + j] = d * w.get(ValueLayout.JAVA_BYTE, p + 2 + j);
            }
        }
    }
}
