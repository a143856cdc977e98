package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K: super-blocks of 256 values: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs
 * (qh), 16 signed 8-bit scales, a half-precision d; value = d·sc·(q − 32) with q of 6 bits, one
 * scale per 16 values. Each half of 128 values takes 64 ql bytes and 32 qh bytes; for l < 32 the
 * values l, l+32, l+64, l+96 come from (ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high) with qh[l]
 * bits 0-1, 2-3, 4-5, 6-7. The kernel's "block" is 8 consecutive l of all four quarters.
 */
final class Q6KKernel extends WeightKernel {

    static final Q6KKernel INSTANCE = new Q6KKernel();
    private static final int BLOCK = 210;

    private Q6KKernel() {
        super(GgmlType.Q6_K);
    }

    private static ByteVector shiftedPair(ByteVector h, int leftShift) {
        var ints = h.reinterpretAsInts();
        var shifted = leftShift >= 0 ? ints.lanewise(VectorOperators.LSHL, leftShift)
                : ints.lanewise(VectorOperators.LSHR, -leftShift);
        return shifted.reinterpretAsBytes().and((byte) 0x30);
    }

    private static FloatVector weights(ByteVector q, float scale) {
        return Q4_0Kernel.widen(q.sub((byte) 32)).mul(scale);
    }

    private static FloatVector quarters(FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3, float[] x,
            int xi) {
        FloatVector s = w0.mul(FloatVector.fromArray(F, x, xi));
        s = w1.fma(FloatVector.fromArray(F, x, xi + 32), s);
        s = w2.fma(FloatVector.fromArray(F, x, xi + 64), s);
        return w3.fma(FloatVector.fromArray(F, x, xi + 96), s);
    }

    private static int sc(MemorySegment w, long p, int k) {
        return w.get(ValueLayout.JAVA_BYTE, p + 192 + k);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 256);
        FloatVector acc = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 256, p += BLOCK) {
            float d = f16(w, p);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += 8) {
                    ByteVector a = Q4_0Kernel.load(w, p + 64 * h + l);
                    ByteVector b = Q4_0Kernel.load(w, p + 64 * h + l + 32);
                    ByteVector hb = Q4_0Kernel.load(w, p + 128 + 32 * h + l);
                    int s = 8 * h + (l >> 4);
                    FloatVector w0 = weights(Q4_0Kernel.lo(a).or(shiftedPair(hb, 4)), d * sc(w, p, s));
                    FloatVector w1 = weights(Q4_0Kernel.lo(b).or(shiftedPair(hb, 2)), d * sc(w, p, s + 2));
                    FloatVector w2 = weights(Q4_0Kernel.hi(a).or(hb.and((byte) 0x30)), d * sc(w, p, s + 4));
                    FloatVector w3 = weights(Q4_0Kernel.hi(b).or(shiftedPair(hb, -2)), d * sc(w, p, s + 6));
                    acc = acc.add(quarters(w0, w1, w2, w3, x, xOff + i + 128 * h + l));
                }
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
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += 8) {
                    ByteVector a = Q4_0Kernel.load(w, p + 64 * h + l);
                    ByteVector b = Q4_0Kernel.load(w, p + 64 * h + l + 32);
                    ByteVector hb = Q4_0Kernel.load(w, p + 128 + 32 * h + l);
                    int s = 8 * h + (l >> 4);
                    FloatVector w0 = weights(Q4_0Kernel.lo(a).or(shiftedPair(hb, 4)), d * sc(w, p, s));
                    FloatVector w1 = weights(Q4_0Kernel.lo(b).or(shiftedPair(hb, 2)), d * sc(w, p, s + 2));
                    FloatVector w2 = weights(Q4_0Kernel.hi(a).or(hb.and((byte) 0x30)), d * sc(w, p, s + 4));
                    FloatVector w3 = weights(Q4_0Kernel.hi(b).or(shiftedPair(hb, -2)), d * sc(w, p, s + 6));
                    int xi = xOff + i + 128 * h + l;
                    a0 = a0.add(quarters(w0, w1, w2, w3, x, xi));
                    a1 = a1.add(quarters(w0, w1, w2, w3, x, xi + xStride));
                    a2 = a2.add(quarters(w0, w1, w2, w3, x, xi + 2 * xStride));
                    a3 = a3.add(quarters(w0, w1, w2, w3, x, xi + 3 * xStride));
                }
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
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    int a = w.get(ValueLayout.JAVA_BYTE, p + 64 * h + l) & 0xFF;
                    int c = w.get(ValueLayout.JAVA_BYTE, p + 64 * h + l + 32) & 0xFF;
                    int hb = w.get(ValueLayout.JAVA_BYTE, p + 128 + 32 * h + l) & 0xFF;
                    int s = 8 * h + (l >> 4);
                    int o = dstOff + b * 256 + 128 * h + l;
                    dst[o] = d * sc(w, p, s) * (((a & 0x0F) | (hb & 3) << 4) - 32);
                    dst[o + 32] = d * sc(w, p, s + 2) * (((c & 0x0F) | ((hb >> 2) & 3) << 4) - 32);
                    dst[o + 64] = d * sc(w, p, s + 4) * (((a >>> 4) | ((hb >> 4) & 3) << 4) - 32);
                    dst[o + 96] = d * sc(w, p, s + 6) * (((c >>> 4) | ((hb >> 6) & 3) << 4) - 32);
                }
            }
        }
    }
}
