package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

/**
 * Q4_K: super-blocks of 256 values: half-precision d and dmin, 12 bytes packing eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Each 64 values share 32 bytes: the low nibbles
 * are one 32-value sub-block, the high nibbles the next; value = d·sc·q − dmin·m. Weights are
 * rebuilt in registers ({@code fma(q, d·sc, −dmin·m)}) and summed per 32-value sub-block.
 */
final class Q4KKernel extends WeightKernel {

    static final Q4KKernel INSTANCE = new Q4KKernel();
    private static final int BLOCK = 144;

    private Q4KKernel() {
        super(GgmlType.Q4_K);
    }

    /** The 6-bit scale of sub-block j (0..7) from the 12 packed bytes at s. */
    static int scale(MemorySegment w, long s, int j) {
        if (j < 4) {
            return w.get(ValueLayout.JAVA_BYTE, s + j) & 63;
        }
        return (w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 0x0F) | ((w.get(ValueLayout.JAVA_BYTE, s + j - 4) & 0xFF) >>> 6) << 4;
    }

    /** The 6-bit min of sub-block j (0..7). */
    static int min(MemorySegment w, long s, int j) {
        if (j < 4) {
            return w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 63;
        }
        return ((w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 0xFF) >>> 4) | ((w.get(ValueLayout.JAVA_BYTE, s + j) & 0xFF) >>> 6) << 4;
    }

    private static FloatVector weights(ByteVector nibbles, FloatVector scale, FloatVector negMin) {
        return Q4_0Kernel.widen(nibbles).fma(scale, negMin);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 256);
        FloatVector acc = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 256, p += BLOCK) {
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int j = 0; j < 4; j++) {
                long q = p + 16 + 32L * j;
                ByteVector c0 = Q4_0Kernel.load(w, q);
                ByteVector c1 = Q4_0Kernel.load(w, q + 8);
                ByteVector c2 = Q4_0Kernel.load(w, q + 16);
                ByteVector c3 = Q4_0Kernel.load(w, q + 24);
                int sb = 2 * j;
                FloatVector sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb));
                FloatVector mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb));
                acc = acc.add(Q8_0Kernel.block(weights(Q4_0Kernel.lo(c0), sc, mn), weights(Q4_0Kernel.lo(c1), sc, mn),
                        weights(Q4_0Kernel.lo(c2), sc, mn), weights(Q4_0Kernel.lo(c3), sc, mn), x, xOff + i + 64 * j));
                sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb + 1));
                mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb + 1));
                acc = acc.add(Q8_0Kernel.block(weights(Q4_0Kernel.hi(c0), sc, mn), weights(Q4_0Kernel.hi(c1), sc, mn),
                        weights(Q4_0Kernel.hi(c2), sc, mn), weights(Q4_0Kernel.hi(c3), sc, mn), x,
                        xOff + i + 64 * j + 32));
            }
        }
        return sum(acc);
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        checkBlocks(n, 256);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long p = off;
        for (int i = 0; i < n; i += 256, p += BLOCK) {
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int sb = 0; sb < 8; sb++) {
                long q = p + 16 + 32L * (sb >> 1);
                ByteVector c0 = Q4_0Kernel.load(w, q);
                ByteVector c1 = Q4_0Kernel.load(w, q + 8);
                ByteVector c2 = Q4_0Kernel.load(w, q + 16);
                ByteVector c3 = Q4_0Kernel.load(w, q + 24);
                boolean high = (sb & 1) != 0;
                FloatVector sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb));
                FloatVector mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb));
                FloatVector w0 = weights(high ? Q4_0Kernel.hi(c0) : Q4_0Kernel.lo(c0), sc, mn);
                FloatVector w1 = weights(high ? Q4_0Kernel.hi(c1) : Q4_0Kernel.lo(c1), sc, mn);
                FloatVector w2 = weights(high ? Q4_0Kernel.hi(c2) : Q4_0Kernel.lo(c2), sc, mn);
                FloatVector w3 = weights(high ? Q4_0Kernel.hi(c3) : Q4_0Kernel.lo(c3), sc, mn);
                int xi = xOff + i + 32 * sb;
                a0 = a0.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xi));
                a1 = a1.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xi + xStride));
                a2 = a2.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xi + 2 * xStride));
                a3 = a3.add(Q8_0Kernel.block(w0, w1, w2, w3, x, xi + 3 * xStride));
            }
        }
        out[outOff] = sum(a0);
        out[outOff + outStride] = sum(a1);
        out[outOff + 2 * outStride] = sum(a2);
        out[outOff + 3 * outStride] = sum(a3);
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 256);
        for (int b = 0; b < n / 256; b++) {
            long p = off + (long) b * BLOCK;
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int sb = 0; sb < 8; sb++) {
                float sc = d * scale(w, p + 4, sb);
                float mn = -dmin * min(w, p + 4, sb);
                long q = p + 16 + 32L * (sb >> 1);
                int o = dstOff + b * 256 + 32 * sb;
                for (int l = 0; l < 32; l++) {
                    int v = w.get(ValueLayout.JAVA_BYTE, q + l) & 0xFF;
                    dst[o + l] = Math.fma((sb & 1) == 0 ? v & 0x0F : v >>> 4, sc, mn);
                }
            }
        }
    }
}
