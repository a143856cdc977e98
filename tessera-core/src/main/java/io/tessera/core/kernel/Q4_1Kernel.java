package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_1: blocks of 32 values, half-precision d and m then 16 bytes of nibbles; value = d·q + m. The
 * weights are rebuilt in registers ({@code fma(q, d, m)}) and summed per block.
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class Q4_1Kernel extends WeightKernel {

    static final Q4_1Kernel INSTANCE = new Q4_1Kernel();

    private Q4_1Kernel() {
        super(GgmlType.Q4_1);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 32);
        FloatVector a0 = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 32, p += 20) {
            int xi = i;
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector m = FloatVector.broadcast(F, f16(w, p + 2));
            ByteVector b0 = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 4, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 12, LE);
            FloatVector w0 = ((FloatVector) b0.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w1 = ((FloatVector) b1.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w2 = ((FloatVector) b0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w3 = ((FloatVector) b1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, xOff + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, xOff + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, xOff + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, xOff + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = a0.add(s0);
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
        for (int i = 0; i < n; i += 32, p += 20) {
            int xi = i;
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector m = FloatVector.broadcast(F, f16(w, p + 2));
            ByteVector b0 = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 4, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 12, LE);
            FloatVector w0 = ((FloatVector) b0.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w1 = ((FloatVector) b1.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w2 = ((FloatVector) b0.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector w3 = ((FloatVector) b1.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(d, m);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, x0 + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, x0 + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, x0 + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = a0.add(s0);
            FloatVector s1 = w0.mul(FloatVector.fromArray(F, x, x1 + xi + 0));
            FloatVector u1 = w2.mul(FloatVector.fromArray(F, x, x1 + xi + 16));
            s1 = w1.fma(FloatVector.fromArray(F, x, x1 + xi + 8), s1);
            u1 = w3.fma(FloatVector.fromArray(F, x, x1 + xi + 24), u1);
            s1 = s1.add(u1);
            a1 = a1.add(s1);
            FloatVector s2 = w0.mul(FloatVector.fromArray(F, x, x2 + xi + 0));
            FloatVector u2 = w2.mul(FloatVector.fromArray(F, x, x2 + xi + 16));
            s2 = w1.fma(FloatVector.fromArray(F, x, x2 + xi + 8), s2);
            u2 = w3.fma(FloatVector.fromArray(F, x, x2 + xi + 24), u2);
            s2 = s2.add(u2);
            a2 = a2.add(s2);
            FloatVector s3 = w0.mul(FloatVector.fromArray(F, x, x3 + xi + 0));
            FloatVector u3 = w2.mul(FloatVector.fromArray(F, x, x3 + xi + 16));
            s3 = w1.fma(FloatVector.fromArray(F, x, x3 + xi + 8), s3);
            u3 = w3.fma(FloatVector.fromArray(F, x, x3 + xi + 24), u3);
            s3 = s3.add(u3);
            a3 = a3.add(s3);
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
            long p = off + (long) b * 20;
            float d = f16(w, p);
            float m = f16(w, p + 2);
            int o = dstOff + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, p + 4 + j) & 0xFF;
                dst[o + j] = Math.fma(q & 0x0F, d, m);
                dst[o + j + 16] = Math.fma(q >>> 4, d, m);
            }
        }
    }
}
