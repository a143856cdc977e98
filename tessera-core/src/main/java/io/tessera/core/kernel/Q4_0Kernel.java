package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0: blocks of 32 values, a half-precision scale d then 16 bytes of nibbles (value j in the low
 * nibble of byte j, value j+16 in its high nibble); value = d·(q − 8). Nibbles are split and
 * widened in registers; {@code acc += d · Σ (q−8)·x} per block, in the order of {@link Q8_0Kernel}.
 */
final class Q4_0Kernel extends WeightKernel {

    static final Q4_0Kernel INSTANCE = new Q4_0Kernel();
    private static final int BLOCK = 18;

    private Q4_0Kernel() {
        super(GgmlType.Q4_0);
    }

    static ByteVector load(MemorySegment w, long p) {
        return ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p, LE);
    }

    static ByteVector lo(ByteVector b) {
        return b.and((byte) 0x0F);
    }

    static ByteVector hi(ByteVector b) {
        return b.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
    }

    static FloatVector widen(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        checkBlocks(n, 32);
        FloatVector acc = FloatVector.zero(F);
        long p = off;
        for (int i = 0; i < n; i += 32, p += BLOCK) {
            ByteVector b0 = load(w, p + 2);
            ByteVector b1 = load(w, p + 10);
            FloatVector s = Q8_0Kernel.block(widen(lo(b0).sub((byte) 8)), widen(lo(b1).sub((byte) 8)),
                    widen(hi(b0).sub((byte) 8)), widen(hi(b1).sub((byte) 8)), x, xOff + i);
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
            ByteVector b0 = load(w, p + 2);
            ByteVector b1 = load(w, p + 10);
            FloatVector q0 = widen(lo(b0).sub((byte) 8));
            FloatVector q1 = widen(lo(b1).sub((byte) 8));
            FloatVector q2 = widen(hi(b0).sub((byte) 8));
            FloatVector q3 = widen(hi(b1).sub((byte) 8));
            FloatVector d = FloatVector.broadcast(F, f16(w, p));
            a0 = Q8_0Kernel.block(q0, q1, q2, q3, x, xOff + i).fma(d, a0);
            a1 = Q8_0Kernel.block(q0, q1, q2, q3, x, xOff + xStride + i).fma(d, a1);
            a2 = Q8_0Kernel.block(q0, q1, q2, q3, x, xOff + 2 * xStride + i).fma(d, a2);
            a3 = Q8_0Kernel.block(q0, q1, q2, q3, x, xOff + 3 * xStride + i).fma(d, a3);
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
            int o = dstOff + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, p + 2 + j) & 0xFF;
                dst[o + j] = d * ((q & 0x0F) - 8);
                dst[o + j + 16] = d * ((q >>> 4) - 8);
            }
        }
    }
}
