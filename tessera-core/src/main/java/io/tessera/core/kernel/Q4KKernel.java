package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K: super-blocks of 256 values: half-precision d and dmin, 12 bytes packing eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Each 64 values share 32 bytes: the low nibbles
 * are one 32-value sub-block, the high nibbles the next; value = d·sc·q − dmin·m. Weights are
 * rebuilt in registers ({@code fma(q, d·sc, −dmin·m)}) and summed per 32-value sub-block.
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class Q4KKernel extends WeightKernel {

    static final Q4KKernel INSTANCE = new Q4KKernel();

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

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 256);
        FloatVector a0 = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 256, p += 144) {
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int sb = 0; sb < 8; sb++) {
                int xi = i + 32 * sb;
                long q = p + 16 + 32L * (sb >> 1);
                int shift = (sb & 1) << 2;
                FloatVector sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb));
                FloatVector mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb));
                FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 0, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 8, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w2 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 16, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w3 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 24, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, xOff + xi + 0));
                FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, xOff + xi + 16));
                s0 = w1.fma(FloatVector.fromArray(F, x, xOff + xi + 8), s0);
                u0 = w3.fma(FloatVector.fromArray(F, x, xOff + xi + 24), u0);
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
        for (int i = 0; i < n; i += 256, p += 144) {
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int sb = 0; sb < 8; sb++) {
                int xi = i + 32 * sb;
                long q = p + 16 + 32L * (sb >> 1);
                int shift = (sb & 1) << 2;
                FloatVector sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb));
                FloatVector mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb));
                FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 0, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 8, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w2 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 16, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
                FloatVector w3 = ((FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, q + 24, LE).reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(sc, mn);
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
            long p = off + (long) b * 144;
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
