package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * 4-bit rows in lane order ({@link LanesKernel}): each 256-value chunk of a row takes the same 144 bytes as in
 * the file: a 16-byte header of scales (the type's own: {@link Q4_0LanesKernel}, {@link Q4KLanesKernel}),
 * then 128 bytes of nibbles read as four 256-bit vectors of sixteen 16-bit lanes: lane L of vector
 * i holds, in its nibble n, value {@code 16L + 4i + n} of the chunk. Lane L therefore only ever
 * meets values of 32-value block L / 2, and the activations, rearranged the same way
 * ({@link Q8Activations#lanes}), are plain vector loads.
 *
 * <p>Both types reconstruct a value as {@code w = s·q + m} with a scale s and an offset m per
 * 32-value block (Q4_0: s = d, m = −8d; Q4_K: s = d·sc, m = −dmin·min), each exact in a float.
 * Per chunk a dot product multiplies the nibbles with the activations in 16-bit lanes and adds
 * the products in 16 bits: a lane sums 16 products of a nibble (0..15) and an activation (|q| ≤
 * 127), at most 30480, so the sum is exact. Only then are neighbouring lanes added into one int per
 * block (as ints: two lanes can exceed a short), converted, and scaled for the eight blocks as one
 * vector: {@code a = fma(S·d_x, s, a)}, then {@code a = fma(m, X, a)}, X being the activation
 * block's d·Σq ({@link Q8Activations#sums}). The file-layout kernels need a pair sum, a conversion
 * and a broadcast scale per 32 values.
 *
 * <p>The nibbles are not isolated. A word w = n0 + 16·n1 + 256·n2 + 4096·n3 and its logical shifts
 * by 4, 8 and 12 are multiplied with activations recombined once per product
 * ({@link Q8Activations#nibbleSteps}: x0, x1 − 16·x0, x2 − 16·x1, x3 − 16·x2), whose sum is
 * n0·x0 + n1·x1 + n2·x2 + n3·x3 modulo 2^16; every partial sum is wrong by multiples of 2^16 only,
 * and the lane's final sum, which fits in a short, comes out exact. That is three shifts per word
 * in place of three shifts and three masks, for the same bits.
 * Both types' dot products write this chunk sum out: a shared helper would return a vector, and
 * in methods this large C2 may leave such a call uninlined and box it.
 *
 * <p>Matrix products ({@link MatMul}) decode the nibbles of a band of rows into a panel of shorts in
 * the same lane order ({@link #decodeLanes}) with the per-block s and m.
 */
abstract sealed class NibbleLanesKernel extends LanesKernel permits Q4_0LanesKernel, Q4KLanesKernel {

    /** Bytes per chunk: the header, then the nibbles. */
    static final int CHUNK_BYTES = 144;
    /** Bytes of scales at the start of a chunk; the nibbles follow. */
    static final int HEADER_BYTES = 16;

    NibbleLanesKernel(GgmlType type) {
        super(type);
    }

    /** Copies the chunk's scales from the file's 144 bytes at {@code src[so..]} into the header at {@code dst[o..]}. */
    abstract void packHeader(MemorySegment src, long so, MemorySegment dst, long o);

    /**
     * Where lane L's sixteen values are in the file's chunk at {@code so}: 16 consecutive bytes at
     * the returned offset, in their low nibbles ({@code 0}) or their high nibbles ({@code 4}), as
     * {@code offset << 3 | shift}.
     */
    abstract int laneSource(int lane);

    @Override
    final void packChunk(MemorySegment src, long so, MemorySegment dst, long o) {
        packHeader(src, so, dst, o);
        for (int lane = 0; lane < 16; lane++) {
            int source = laneSource(lane);
            long b = so + (source >>> 3);
            int shift = source & 7;
            for (int i = 0; i < 4; i++) {
                // values 4i..4i+3 of the lane, one per nibble of its 16-bit word in vector i
                int x = src.get(INT, b + 4 * i) >>> shift & 0x0F0F0F0F;
                x = (x | x >>> 4) & 0x00FF00FF;
                dst.set(I16, o + HEADER_BYTES + (i * 16L + lane) * 2, (short) (x | x >>> 8));
            }
        }
    }

    /**
     * The scale s and the offset m of the chunk's eight 32-value blocks (value = s·q + m), from its
     * header at {@code w[p..]} into {@code s[o..o+8)} and {@code m[o..o+8)}: the same floats as
     * {@link #dot} computes.
     */
    abstract void blockScales(MemorySegment w, long p, float[] s, float[] m, int o);

    /** The nibbles as shorts (vector i·4 + nib at 16·(4i + nib)), a scale and an offset per 32 values. */
    @Override
    final void decodeLanes(MemorySegment w, long off, short[] dst, int dstOff, float[] s, float[] m, int sOff, int n) {
        checkBlocks(n, CHUNK);
        IntVector mask = IntVector.broadcast(I32, 0x000F000F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            blockScales(w, p, s, m, sOff + c * 8);
            for (int v = 0; v < 4; v++) {
                IntVector x = ShortVector.fromMemorySegment(S16, w, p + HEADER_BYTES + 32 * v, LE).reinterpretAsInts();
                int o = dstOff + i + 64 * v;
                x.and(mask).reinterpretAsShorts().intoArray(dst, o);
                x.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().intoArray(dst, o + 16);
                x.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().intoArray(dst, o + 32);
                x.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 12).intoArray(dst, o + 48);
            }
        }
    }

    @Override
    public final void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, CHUNK);
        float[] s = new float[8];
        float[] m = new float[8];
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            blockScales(w, p, s, m, 0);
            for (int lane = 0; lane < 16; lane++) {
                for (int step = 0; step < 16; step++) {
                    int word = w.get(I16, p + HEADER_BYTES + ((step / 4) * 16 + lane) * 2);
                    int q = (word >>> (4 * (step % 4))) & 15;
                    dst[dstOff + i + 16 * lane + step] = s[lane / 2] * q + m[lane / 2];
                }
            }
        }
    }
}
