package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Q4_1: blocks of 32 values, half-precision d and m then 16 bytes of nibbles; value = d·q + m. The
 * weights are rebuilt in registers ({@code fma(q, d, m)}) and summed per block like the float types.
 */
final class Q4_1Kernel extends WeightKernel {

    static final Q4_1Kernel INSTANCE = new Q4_1Kernel();
    private static final int BLOCK = 20;

    private Q4_1Kernel() {
        super(GgmlType.Q4_1);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 32);
        FloatVector acc = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 32, p += BLOCK) {
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector m = FloatVector.broadcast(F, f16(w, p + 2));
            ByteVector b0 = Q4_0Kernel.load(w, p + 4);
            ByteVector b1 = Q4_0Kernel.load(w, p + 12);
            acc = acc.add(Q8_0Kernel.block(Q4_0Kernel.widen(Q4_0Kernel.lo(b0)).fma(d, m),
                    Q4_0Kernel.widen(Q4_0Kernel.lo(b1)).fma(d, m), Q4_0Kernel.widen(Q4_0Kernel.hi(b0)).fma(d, m),
                    Q4_0Kernel.widen(Q4_0Kernel.hi(b1)).fma(d, m), x, xOff + i));
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
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            FloatVector m = FloatVector.broadcast(F, f16(w, p + 2));
            ByteVector b0 = Q4_0Kernel.load(w, p + 4);
            ByteVector b1 = Q4_0Kernel.load(w, p + 12);
            FloatVector w0 = Q4_0Kernel.widen(Q4_0Kernel.lo(b0)).fma(d, m);
            FloatVector w1 = Q4_0Kernel.widen(Q4_0Kernel.lo(b1)).fma(d, m);
            FloatVector w2 = Q4_0Kernel.widen(Q4_0Kernel.hi(b0)).fma(d, m);
            FloatVector w3 = Q4_0Kernel.widen(Q4_0Kernel.hi(b1)).fma(d, m);
            a0 = a0.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xOff + i));
            a1 = a1.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xOff + xStride + i));
            a2 = a2.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xOff + 2 * xStride + i));
            a3 = a3.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xOff + 3 * xStride + i));
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
