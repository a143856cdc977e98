package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K repacked at load into lane order, like the 4-bit types of {@link NibbleLanesKernel} but with one
 * 16-value sub-block per 16-bit lane: lane L of a 256-value chunk holds sub-block L, value
 * {@code 16L + 4i + n} being step {@code 4i + n}. A chunk keeps the file's 210 bytes: d (half),
 * the 16 signed scales with the even sub-blocks' first, 128 bytes of low nibbles (four vectors:
 * nibble n of lane L in vector i) and 64 bytes of high bit pairs (two vectors: pair {@code 4(i % 2) + n}
 * of lane L in vector i / 2).
 *
 * <p>A dot product rebuilds the 16 vectors of q − 32 (shifts, masks and an or on the int view, a
 * subtraction in 16 bits), multiplies them with the lane-ordered activations and sums steps 0-7
 * and 8-15 in two 16-bit accumulators (8 products of |q − 32| ≤ 32 and |q_x| ≤ 127: at most 32512,
 * exact). The int view then gives the even lanes (sign-extended low halves) and the odd lanes
 * (high halves); as sub-blocks 2b and 2b + 1 both lie in activation block b, each half is scaled
 * as one vector: {@code a = fma(S·d_x, d·sc, a)}. The file-layout kernel ({@link Q6KKernel}) pays a
 * byte-to-short conversion, a pair sum, a conversion and a broadcast per 16 values, which the lane
 * order avoids.
 */
final class Q6KLanesKernel extends LanesKernel {

    static final Q6KLanesKernel INSTANCE = new Q6KLanesKernel();

    /** Bytes per chunk, as in the file. */
    static final int CHUNK_BYTES = 210;
    /** d and the 16 scales; the nibbles follow. */
    private static final int HEADER_BYTES = 18;
    /** Where the high bit pairs start. */
    private static final int HIGH = HEADER_BYTES + 128;

    private Q6KLanesKernel() {
        super(GgmlType.Q6_K);
    }

    /**
     * One 256-value super-block of the file at {@code src[so..]} (ql: 128 bytes, qh: 64, scales: 16,
     * d) into lane order at {@code dst[o..]}. In each half of 128 values, value {@code 32j + l} has
     * its low nibble in ql[32(j % 2) + l] (low or high nibble as j < 2 or not) and its high pair in
     * bits 2j of qh[l].
     */
    @Override
    void packChunk(MemorySegment src, long so, MemorySegment dst, long o) {
        dst.set(I16, o, src.get(I16, so + 208));
        for (int s = 0; s < 16; s++) {
            dst.set(ValueLayout.JAVA_BYTE, o + 2 + s % 2 * 8 + s / 2, src.get(ValueLayout.JAVA_BYTE, so + 192 + s));
        }
        for (int lane = 0; lane < 16; lane++) {
            for (int i = 0; i < 4; i++) {
                int low = 0;
                int high = 0;
                for (int n = 0; n < 4; n++) {
                    int value = fileValue(src, so, 16 * lane + 4 * i + n);
                    low |= (value & 15) << 4 * n;
                    high |= (value >>> 4) << 2 * (4 * (i % 2) + n);
                }
                dst.set(I16, o + HEADER_BYTES + 32L * i + 2 * lane, (short) low);
                long hw = o + HIGH + 32L * (i / 2) + 2 * lane;
                dst.set(I16, hw, (short) (dst.get(I16, hw) & ~(0xFF << 8 * (i % 2)) | high));
            }
        }
    }

    /** The 6-bit q of value v of the file's super-block at {@code src[so..]}. */
    private static int fileValue(MemorySegment src, long so, int v) {
        int h = v / 128;
        int j = v % 128 / 32;
        int l = v % 32;
        int ql = src.get(ValueLayout.JAVA_BYTE, so + 64 * h + 32 * (j & 1) + l) >>> 4 * (j >> 1) & 15;
        int qh = src.get(ValueLayout.JAVA_BYTE, so + 128 + 32 * h + l) >>> 2 * j & 3;
        return ql | qh << 4;
    }

    @Override
    float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n) {
        checkBlocks(n, CHUNK);
        short[] q = a.lanes;
        float[] xd = a.scale;
        IntVector m4 = IntVector.broadcast(I32, 0x000F000F);
        IntVector m2 = IntVector.broadcast(I32, 0x00300030);
        ShortVector bias = ShortVector.broadcast(S16, (short) 32);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            int x = xOff + i;
            float d = Float.float16ToFloat(w.get(I16, p));
            IntVector v0 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES, LE).reinterpretAsInts();
            IntVector v1 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 32, LE).reinterpretAsInts();
            IntVector v2 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 64, LE).reinterpretAsInts();
            IntVector v3 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 96, LE).reinterpretAsInts();
            IntVector h0 = ShortVector.fromMemorySegment(S16, w, p + HIGH, LE).reinterpretAsInts();
            IntVector h1 = ShortVector.fromMemorySegment(S16, w, p + HIGH + 32, LE).reinterpretAsInts();
            ShortVector first = v0.and(m4).or(h0.lanewise(VectorOperators.LSHL, 4).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 0));
            first = first.add(v0.lanewise(VectorOperators.LSHR, 4).and(m4).or(h0.lanewise(VectorOperators.LSHL, 2).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 16)));
            first = first.add(v0.lanewise(VectorOperators.LSHR, 8).and(m4).or(h0.and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 32)));
            first = first.add(v0.lanewise(VectorOperators.LSHR, 12).and(m4).or(h0.lanewise(VectorOperators.LSHR, 2).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 48)));
            first = first.add(v1.and(m4).or(h0.lanewise(VectorOperators.LSHR, 4).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 64)));
            first = first.add(v1.lanewise(VectorOperators.LSHR, 4).and(m4).or(h0.lanewise(VectorOperators.LSHR, 6).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 80)));
            first = first.add(v1.lanewise(VectorOperators.LSHR, 8).and(m4).or(h0.lanewise(VectorOperators.LSHR, 8).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 96)));
            first = first.add(v1.lanewise(VectorOperators.LSHR, 12).and(m4).or(h0.lanewise(VectorOperators.LSHR, 10).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 112)));
            ShortVector second = v2.and(m4).or(h1.lanewise(VectorOperators.LSHL, 4).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 128));
            second = second.add(v2.lanewise(VectorOperators.LSHR, 4).and(m4).or(h1.lanewise(VectorOperators.LSHL, 2).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 144)));
            second = second.add(v2.lanewise(VectorOperators.LSHR, 8).and(m4).or(h1.and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 160)));
            second = second.add(v2.lanewise(VectorOperators.LSHR, 12).and(m4).or(h1.lanewise(VectorOperators.LSHR, 2).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 176)));
            second = second.add(v3.and(m4).or(h1.lanewise(VectorOperators.LSHR, 4).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 192)));
            second = second.add(v3.lanewise(VectorOperators.LSHR, 4).and(m4).or(h1.lanewise(VectorOperators.LSHR, 6).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 208)));
            second = second.add(v3.lanewise(VectorOperators.LSHR, 8).and(m4).or(h1.lanewise(VectorOperators.LSHR, 8).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 224)));
            second = second.add(v3.lanewise(VectorOperators.LSHR, 12).and(m4).or(h1.lanewise(VectorOperators.LSHR, 10).and(m2)).reinterpretAsShorts().sub(bias).mul(ShortVector.fromArray(S16, q, x + 240)));
            IntVector f = first.reinterpretAsInts();
            IntVector s = second.reinterpretAsInts();
            FloatVector even = (FloatVector) f.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(s.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            FloatVector odd = (FloatVector) f.lanewise(VectorOperators.ASHR, 16).add(s.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0);
            FloatVector dx = FloatVector.fromArray(F, xd, x >> 5);
            FloatVector scEven = (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 2, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector scOdd = (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 10, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = even.mul(dx).fma(scEven.mul(d), acc);
            acc = odd.mul(dx).fma(scOdd.mul(d), acc);
        }
        // lanes(acc) written out: in a method this large the call is left uninlined and would box acc
        return ((acc.lane(0) + acc.lane(1)) + (acc.lane(2) + acc.lane(3))) + ((acc.lane(4) + acc.lane(5)) + (acc.lane(6) + acc.lane(7)));
    }

    /** The values as shorts q − 32 and d·sc of each chunk's sub-blocks, 16 per chunk, the even ones first; no offsets. */
    @Override
    void decodeLanes(MemorySegment w, long off, short[] dst, int dstOff, float[] scales, float[] unused, int sOff, int n) {
        checkBlocks(n, CHUNK);
        IntVector m4 = IntVector.broadcast(I32, 0x000F000F);
        IntVector m2 = IntVector.broadcast(I32, 0x00300030);
        ShortVector bias = ShortVector.broadcast(S16, (short) 32);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            float d = f16(w, p);
            for (int k = 0; k < 16; k++) {
                scales[sOff + 16 * c + k] = w.get(ValueLayout.JAVA_BYTE, p + 2 + k) * d;
            }
            int o = dstOff + i;
            IntVector v0 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES, LE).reinterpretAsInts();
            IntVector v1 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 32, LE).reinterpretAsInts();
            IntVector v2 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 64, LE).reinterpretAsInts();
            IntVector v3 = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 96, LE).reinterpretAsInts();
            IntVector h0 = ShortVector.fromMemorySegment(S16, w, p + HIGH, LE).reinterpretAsInts();
            IntVector h1 = ShortVector.fromMemorySegment(S16, w, p + HIGH + 32, LE).reinterpretAsInts();
            v0.and(m4).or(h0.lanewise(VectorOperators.LSHL, 4).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 0);
            v0.lanewise(VectorOperators.LSHR, 4).and(m4).or(h0.lanewise(VectorOperators.LSHL, 2).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 16);
            v0.lanewise(VectorOperators.LSHR, 8).and(m4).or(h0.and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 32);
            v0.lanewise(VectorOperators.LSHR, 12).and(m4).or(h0.lanewise(VectorOperators.LSHR, 2).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 48);
            v1.and(m4).or(h0.lanewise(VectorOperators.LSHR, 4).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 64);
            v1.lanewise(VectorOperators.LSHR, 4).and(m4).or(h0.lanewise(VectorOperators.LSHR, 6).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 80);
            v1.lanewise(VectorOperators.LSHR, 8).and(m4).or(h0.lanewise(VectorOperators.LSHR, 8).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 96);
            v1.lanewise(VectorOperators.LSHR, 12).and(m4).or(h0.lanewise(VectorOperators.LSHR, 10).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 112);
            v2.and(m4).or(h1.lanewise(VectorOperators.LSHL, 4).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 128);
            v2.lanewise(VectorOperators.LSHR, 4).and(m4).or(h1.lanewise(VectorOperators.LSHL, 2).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 144);
            v2.lanewise(VectorOperators.LSHR, 8).and(m4).or(h1.and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 160);
            v2.lanewise(VectorOperators.LSHR, 12).and(m4).or(h1.lanewise(VectorOperators.LSHR, 2).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 176);
            v3.and(m4).or(h1.lanewise(VectorOperators.LSHR, 4).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 192);
            v3.lanewise(VectorOperators.LSHR, 4).and(m4).or(h1.lanewise(VectorOperators.LSHR, 6).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 208);
            v3.lanewise(VectorOperators.LSHR, 8).and(m4).or(h1.lanewise(VectorOperators.LSHR, 8).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 224);
            v3.lanewise(VectorOperators.LSHR, 12).and(m4).or(h1.lanewise(VectorOperators.LSHR, 10).and(m2)).reinterpretAsShorts().sub(bias).intoArray(dst, o + 240);
        }
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, CHUNK);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            float d = f16(w, p);
            for (int lane = 0; lane < 16; lane++) {
                float s = w.get(ValueLayout.JAVA_BYTE, p + 2 + lane % 2 * 8 + lane / 2) * d;
                for (int step = 0; step < 16; step++) {
                    int low = w.get(I16, p + HEADER_BYTES + 32 * (step / 4) + 2 * lane) >>> 4 * (step % 4) & 15;
                    int high = w.get(I16, p + HIGH + 32 * (step / 8) + 2 * lane) >>> 2 * (step % 8) & 3;
                    dst[dstOff + i + 16 * lane + step] = s * ((low | high << 4) - 32);
                }
            }
        }
    }
}
