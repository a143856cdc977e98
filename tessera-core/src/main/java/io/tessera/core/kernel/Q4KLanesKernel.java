package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K in lane order ({@link NibbleLanesKernel}): the chunk header is the super-block's own 16 bytes
 * (half-precision d and dmin, then the twelve bytes packing eight 6-bit scales and eight 6-bit
 * mins, {@link Q4KKernel#scales}); a value of block j is {@code d·sc_j·q − dmin·min_j}. The file
 * keeps each 64 values' two blocks in the low and high nibbles of the same 32 bytes; here they
 * are spread over lanes like Q4_0's, so the dot product is the same: 16 steps of 16-bit sums,
 * then the eight blocks scaled as one vector.
 */
final class Q4KLanesKernel extends NibbleLanesKernel {

    static final Q4KLanesKernel INSTANCE = new Q4KLanesKernel();

    private Q4KLanesKernel() {
        super(GgmlType.Q4_K);
    }

    @Override
    void packHeader(MemorySegment src, long so, MemorySegment dst, long o) {
        MemorySegment.copy(src, so, dst, o, HEADER_BYTES);
    }

    /** Block L / 2 = 2j + h is the low (h = 0) or high nibbles of bytes 32j..32j+31; lane L takes 16 of them. */
    @Override
    int laneSource(int lane) {
        return (HEADER_BYTES + 32 * (lane / 4) + 16 * (lane % 2)) << 3 | 4 * (lane / 2 % 2);
    }

    @Override
    void blockScales(MemorySegment w, long p, float[] s, float[] m, int o) {
        float d = f16(w, p);
        float dmin = f16(w, p + 2);
        int b2 = w.get(INT, p + 12);
        long sc = Q4KKernel.scales(w.get(INT, p + 4), b2);
        long mn = Q4KKernel.mins(w.get(INT, p + 8), b2);
        for (int j = 0; j < 8; j++) {
            s[o + j] = (int) (sc >>> 8 * j & 63) * d;
            m[o + j] = (int) (mn >>> 8 * j & 63) * -dmin;
        }
    }

    @Override
    float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n) {
        checkBlocks(n, CHUNK);
        short[] e = a.nibbleSteps;
        float[] xd = a.scale;
        float[] xs = a.sums;
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            int x = xOff + i;
            // the scalar work first: parsed later, in a method this large, its calls were left uninlined
            float d = Float.float16ToFloat(w.get(I16, p));
            float dmin = Float.float16ToFloat(w.get(I16, p + 2));
            int b0 = w.get(INT, p + 4);
            int b1 = w.get(INT, p + 8);
            int b2 = w.get(INT, p + 12);
            long sc = (b0 & 0x3F3F3F3F) & 0xFFFFFFFFL | (long) (b2 & 0x0F0F0F0F | b0 >>> 2 & 0x30303030) << 32;
            long mn = (b1 & 0x3F3F3F3F) & 0xFFFFFFFFL | (long) (b2 >>> 4 & 0x0F0F0F0F | b1 >>> 2 & 0x30303030) << 32;
            ShortVector s = ShortVector.zero(S16);
            for (int v = 0; v < 4; v++) {
                // the word's four nibbles by the recombined steps (Q8Activations.nibbleSteps), modulo 2^16
                ShortVector n0 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 32 * v, LE);
                ShortVector n1 = n0.lanewise(VectorOperators.LSHR, 4);
                ShortVector n2 = n1.lanewise(VectorOperators.LSHR, 4);
                s = s.add(n0.mul(ShortVector.fromArray(S16, e, x + 64 * v))).add(n1.mul(ShortVector.fromArray(S16, e, x + 64 * v + 16)))
                        .add(n2.mul(ShortVector.fromArray(S16, e, x + 64 * v + 32))).add(n2.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S16, e, x + 64 * v + 48)));
            }
            IntVector pr = s.reinterpretAsInts();
            FloatVector sum = (FloatVector) pr.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pr.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            // the eight 6-bit scales and mins as bytes of a long (Q4KKernel.scales and mins, written out)
            FloatVector scales = (FloatVector) LongVector.broadcast(LongVector.SPECIES_128, sc)
                    .reinterpretShape(ByteVector.SPECIES_64, 0).convertShape(VectorOperators.B2F, F, 0);
            FloatVector mins = (FloatVector) LongVector.broadcast(LongVector.SPECIES_128, mn)
                    .reinterpretShape(ByteVector.SPECIES_64, 0).convertShape(VectorOperators.B2F, F, 0);
            int b = x >> 5;
            acc = sum.mul(FloatVector.fromArray(F, xd, b)).fma(scales.mul(d), acc);
            acc = mins.mul(-dmin).fma(FloatVector.fromArray(F, xs, b), acc);
        }
        // lanes(acc) written out: in a method this large the call is left uninlined and would box acc
        return ((acc.lane(0) + acc.lane(1)) + (acc.lane(2) + acc.lane(3))) + ((acc.lane(4) + acc.lane(5)) + (acc.lane(6) + acc.lane(7)));
    }
}
