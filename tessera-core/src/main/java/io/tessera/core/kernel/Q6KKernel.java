package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K: super-blocks of 256 values: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs
 * (qh), 16 signed 8-bit scales, a half-precision d; value = d·sc·(q − 32) with q of 6 bits and one
 * scale per 16 values. Each half of 128 values takes 64 ql bytes and 32 qh bytes; for l < 32 the
 * values l, l+32, l+64, l+96 come from ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high, with
 * qh[l] bits 0-1, 2-3, 4-5, 6-7 on top. The kernel's "block" is 8 consecutive l of the four
 * quarters.
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class Q6KKernel extends WeightKernel {

    static final Q6KKernel INSTANCE = new Q6KKernel();

    private Q6KKernel() {
        super(GgmlType.Q6_K);
    }

    private static int sc(MemorySegment w, long p, int k) {
        return w.get(ValueLayout.JAVA_BYTE, p + 192 + k);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 256);
        FloatVector a0 = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 256, p += 210) {
            float d = f16(w, p + 208);
            for (int c = 0; c < 8; c++) {
                int h = c >> 2;
                int l = (c & 3) << 3;
                int xi = i + 128 * h + l;
                int s = 8 * h + (l >> 4);
                long ql = p + 64 * h + l;
                ByteVector qa = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, ql, LE);
                ByteVector qb = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, ql + 32, LE);
                ByteVector qh = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 128 + 32 * h + l, LE);
                FloatVector w0 = ((FloatVector) qa.and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s));
                FloatVector w1 = ((FloatVector) qb.and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 2));
                FloatVector w2 = ((FloatVector) qa.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(qh.and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 4));
                FloatVector w3 = ((FloatVector) qb.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 6));
                FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, xOff + xi + 0));
                FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, xOff + xi + 64));
                s0 = w1.fma(FloatVector.fromArray(F, x, xOff + xi + 32), s0);
                u0 = w3.fma(FloatVector.fromArray(F, x, xOff + xi + 96), u0);
                s0 = s0.add(u0);
                a0 = a0.add(s0);
            }
        }
        float[] l = new float[8];
        a0.intoArray(l, 0);
        return lanes(l, 0);
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        checkBlocks(n, 256);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        long p = off;
        for (int i = 0; i < n; i += 256, p += 210) {
            float d = f16(w, p + 208);
            for (int c = 0; c < 8; c++) {
                int h = c >> 2;
                int l = (c & 3) << 3;
                int xi = i + 128 * h + l;
                int s = 8 * h + (l >> 4);
                long ql = p + 64 * h + l;
                ByteVector qa = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, ql, LE);
                ByteVector qb = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, ql + 32, LE);
                ByteVector qh = ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 128 + 32 * h + l, LE);
                FloatVector w0 = ((FloatVector) qa.and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s));
                FloatVector w1 = ((FloatVector) qb.and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 2));
                FloatVector w2 = ((FloatVector) qa.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(qh.and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 4));
                FloatVector w3 = ((FloatVector) qb.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).or(qh.reinterpretAsInts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes().and((byte) 0x30)).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(d * sc(w, p, s + 6));
                FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + xi + 0));
                FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, x0 + xi + 64));
                s0 = w1.fma(FloatVector.fromArray(F, x, x0 + xi + 32), s0);
                u0 = w3.fma(FloatVector.fromArray(F, x, x0 + xi + 96), u0);
                s0 = s0.add(u0);
                a0 = a0.add(s0);
                FloatVector s1 = w0.mul(FloatVector.fromArray(F, x, x1 + xi + 0));
                FloatVector u1 = w2.mul(FloatVector.fromArray(F, x, x1 + xi + 64));
                s1 = w1.fma(FloatVector.fromArray(F, x, x1 + xi + 32), s1);
                u1 = w3.fma(FloatVector.fromArray(F, x, x1 + xi + 96), u1);
                s1 = s1.add(u1);
                a1 = a1.add(s1);
                FloatVector s2 = w0.mul(FloatVector.fromArray(F, x, x2 + xi + 0));
                FloatVector u2 = w2.mul(FloatVector.fromArray(F, x, x2 + xi + 64));
                s2 = w1.fma(FloatVector.fromArray(F, x, x2 + xi + 32), s2);
                u2 = w3.fma(FloatVector.fromArray(F, x, x2 + xi + 96), u2);
                s2 = s2.add(u2);
                a2 = a2.add(s2);
                FloatVector s3 = w0.mul(FloatVector.fromArray(F, x, x3 + xi + 0));
                FloatVector u3 = w2.mul(FloatVector.fromArray(F, x, x3 + xi + 64));
                s3 = w1.fma(FloatVector.fromArray(F, x, x3 + xi + 32), s3);
                u3 = w3.fma(FloatVector.fromArray(F, x, x3 + xi + 96), u3);
                s3 = s3.add(u3);
                a3 = a3.add(s3);
            }
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
        checkBlocks(n, 256);
        for (int b = 0; b < n / 256; b++) {
            long p = off + (long) b * 210;
            float d = f16(w, p + 208);
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
