package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 in lane order ({@link NibbleLanesKernel}): the chunk header holds the eight blocks' half-precision
 * scales d, and a value is {@code d·q − 8d}. The layout serves one-token products (decode);
 * prefill and batched products run about as fast as in the file layout.
 */
final class Q4_0LanesKernel extends NibbleLanesKernel {

    static final Q4_0LanesKernel INSTANCE = new Q4_0LanesKernel();


    private Q4_0LanesKernel() {
        super(GgmlType.Q4_0);
    }

    /** The file's chunk is eight blocks of 18 bytes: a half-precision scale, then 16 bytes of nibbles. */
    @Override
    void packHeader(MemorySegment src, long so, MemorySegment dst, long o) {
        packBlockScales(src, so, 18, dst, o);
    }

    /** Block L / 2: its low nibbles are values 0..15, its high nibbles 16..31. */
    @Override
    int laneSource(int lane) {
        return (18 * (lane / 2) + 2) << 3 | 4 * (lane % 2);
    }

    @Override
    void blockScales(MemorySegment w, long p, float[] s, float[] m, int o) {
        for (int k = 0; k < 8; k++) {
            float d = f16(w, p + 2 * k);
            s[o + k] = d;
            m[o + k] = d * -8f;
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
            IntVector h = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, I32, 0);
            FloatVector d = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats().mul(HALF_TO_FLOAT);
            int b = x >> 5;
            acc = sum.mul(FloatVector.fromArray(F, xd, b)).fma(d, acc);
            acc = d.mul(-8f).fma(FloatVector.fromArray(F, xs, b), acc);
        }
        // lanes(acc) written out: in a method this large the call is left uninlined and would box acc
        return ((acc.lane(0) + acc.lane(1)) + (acc.lane(2) + acc.lane(3))) + ((acc.lane(4) + acc.lane(5)) + (acc.lane(6) + acc.lane(7)));
    }
}
