package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 in lane order ({@link LanesKernel}): a 256-value chunk keeps the file's 272 bytes, a 16-byte
 * header of the eight blocks' half-precision scales d, then eight 32-byte vectors of sixteen 16-bit
 * lanes: lane L of vector j holds value {@code 16L + 2j} of the chunk in its low byte and value
 * {@code 16L + 2j + 1} in its high byte. Lane L therefore only meets values of block L / 2.
 *
 * <p>A dot product takes the two steps of a vector with shifts in 16-bit lanes (sign-extending the
 * low byte, shifting down the high one), multiplies them with the lane-ordered activations and adds
 * the two products in 16 bits (at most 2 · 128 · 127 = 32512: exact; a third could overflow). Each
 * pair of steps is then added, as ints, to a sum per block: the int view's low halves
 * (sign-extended) and high halves are lanes 2b and 2b + 1, both of block b. A chunk's eight block
 * sums (at most 32 · 128 · 127, exact in a float) are scaled as one vector:
 * {@code a = fma(S·d_x, d, a)}. Loading 16 bytes per step and widening them instead takes twice the
 * loads and, on memory segments, a bounds check each, which left decode no faster than the float
 * kernel. The layout is for one-token products (decode); matrix products of many tokens gain
 * nothing from it.
 */
final class Q8_0LanesKernel extends LanesKernel {

    static final Q8_0LanesKernel INSTANCE = new Q8_0LanesKernel();

    /** Bytes per chunk, as in the file: eight blocks of a half and 32 bytes. */
    static final int CHUNK_BYTES = 272;
    /** The eight scales; the values follow. */
    static final int HEADER_BYTES = 16;

    private Q8_0LanesKernel() {
        super(GgmlType.Q8_0);
    }

    /** The file's chunk is eight blocks of 34 bytes: a half-precision scale, then 32 signed bytes. */
    @Override
    void packChunk(MemorySegment src, long so, MemorySegment dst, long o) {
        packBlockScales(src, so, 34, dst, o);
        for (int lane = 0; lane < 16; lane++) {
            // lane L holds values 16L..16L+15: half L % 2 of block L / 2
            long from = so + 34L * (lane / 2) + 2 + 16 * (lane % 2);
            for (int step = 0; step < 16; step++) {
                dst.set(ValueLayout.JAVA_BYTE, o + HEADER_BYTES + 32 * (step / 2) + 2 * lane + step % 2, src.get(ValueLayout.JAVA_BYTE, from + step));
            }
        }
    }

    @Override
    float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n) {
        checkBlocks(n, CHUNK);
        short[] q = a.lanes;
        float[] xd = a.scale;
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            long v = p + HEADER_BYTES;
            int x = xOff + i;
            // steps 2j and 2j + 1 are the low and high bytes of the 16-bit lanes of vector j: their
            // products are added in 16 bits, then lanes 2b and 2b + 1 as ints into int lane b
            ShortVector b = ShortVector.fromMemorySegment(S16, w, v + 0, LE);
            IntVector t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 0))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 16))).reinterpretAsInts();
            IntVector s = t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 32, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 32))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 48))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 64, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 64))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 80))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 96, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 96))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 112))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 128, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 128))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 144))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 160, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 160))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 176))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 192, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 192))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 208))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            b = ShortVector.fromMemorySegment(S16, w, v + 224, LE);
            t = b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 224))
                    .add(b.lanewise(VectorOperators.ASHR, 8).mul(ShortVector.fromArray(S16, q, x + 240))).reinterpretAsInts();
            s = s.add(t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(t.lanewise(VectorOperators.ASHR, 16));
            IntVector h = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, I32, 0);
            FloatVector d = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).reinterpretAsFloats().mul(HALF_TO_FLOAT);
            acc = ((FloatVector) s.convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xd, x >> 5)).fma(d, acc);
        }
        // lanes(acc) written out: in a method this large the call is left uninlined and would box acc
        return ((acc.lane(0) + acc.lane(1)) + (acc.lane(2) + acc.lane(3))) + ((acc.lane(4) + acc.lane(5)) + (acc.lane(6) + acc.lane(7)));
    }

    /** The values as shorts in lane order and each block's d; no offsets. */
    @Override
    void decodeLanes(MemorySegment w, long off, short[] dst, int dstOff, float[] s, float[] unused, int sOff, int n) {
        checkBlocks(n, CHUNK);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            for (int k = 0; k < 8; k++) {
                s[sOff + 8 * c + k] = f16(w, p + 2 * k);
            }
            for (int j = 0; j < 8; j++) {
                ShortVector b = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 32 * j, LE);
                b.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).intoArray(dst, dstOff + i + 32 * j);
                b.lanewise(VectorOperators.ASHR, 8).intoArray(dst, dstOff + i + 32 * j + 16);
            }
        }
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, CHUNK);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            for (int lane = 0; lane < 16; lane++) {
                float d = f16(w, p + 2 * (lane / 2));
                for (int step = 0; step < 16; step++) {
                    dst[dstOff + i + 16 * lane + step] = d * w.get(ValueLayout.JAVA_BYTE, p + HEADER_BYTES + 32 * (step / 2) + 2 * lane + step % 2);
                }
            }
        }
    }
}
