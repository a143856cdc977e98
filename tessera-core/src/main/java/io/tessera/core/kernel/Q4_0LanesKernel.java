package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_0 rows repacked when the model is loaded ({@link Tensor.Layout#LANES}) so that a dot product
 * needs no horizontal work per block. Each 256-value chunk of a row (eight Q4_0 blocks, 144 bytes,
 * the same as in the file) holds the eight half-precision block scales, then 128 bytes of nibbles
 * read as four 256-bit vectors of sixteen 16-bit lanes: lane L of vector i holds, in its nibble n,
 * value {@code 16L + 4i + n} of the chunk. Lane L therefore only ever meets values of block L / 2,
 * and the activations, rearranged the same way ({@link Q8Activations#lanes}), are plain vector
 * loads.
 *
 * <p>Per chunk a dot product takes the 16 nibble vectors (a shift and a mask each, on the int view),
 * multiplies them with the activations in 16-bit lanes and adds the products in 16 bits: a lane
 * sums 16 products of a nibble (0..15) and an activation (|q| ≤ 127), at most 30480, so the sum is
 * exact. Only then are neighbouring lanes added into one int per block, converted, and scaled with
 * the eight block scales as one vector: {@code a = fma(S·d_x, d_w, a)}, then the offset of 8 as
 * {@code a = fma(−8·d_w, X, a)}, X being the activation block's d·Σq ({@link Q8Activations#sums}).
 * The file-layout kernel ({@link Q4_0Kernel}) needs a pair sum, a conversion and a broadcast scale
 * per 32 values. Decoding one token of the 1B Q4_0 model (bench offline, two threads, alternating
 * with the previous build): 1.26-1.62× as many tokens/s; prefill and batch 32 unchanged (0.87-0.99×).
 *
 * <p>Memory: the repacked rows take the same bytes as the file's, in anonymous memory; the mapped
 * source pages are released once copied, so resident memory holds the weights once.
 *
 * <p>Matrix products ({@link MatMul}) decode the nibbles of a band of rows into a panel of shorts in
 * the same lane order ({@link #decodeLanes}) and repeat, per (row, token, chunk), the same integer
 * sums and the same two float operations, so a token's result does not depend on its batch.
 */
final class Q4_0LanesKernel extends WeightKernel {

    static final Q4_0LanesKernel INSTANCE = new Q4_0LanesKernel();

    /** Values per chunk. */
    static final int CHUNK = 256;
    /** Bytes per chunk: eight scales, then the nibbles. */
    static final int CHUNK_BYTES = 8 * 18;
    /** Bytes of block scales at the start of a chunk; the nibbles follow. */
    private static final int SCALE_BYTES = 16;

    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I32 = IntVector.SPECIES_256;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    /** 2^112: turns the bits of a half shifted into a float's place into the half's value. */
    private static final float HALF_TO_FLOAT = 0x1p112f;

    private Q4_0LanesKernel() {
        super(GgmlType.Q4_0);
    }

    /**
     * Columns {@code [from, from + count)} of every row of t, repacked into memory of {@code arena};
     * null unless t is Q4_0 in the file's layout, from is on a block boundary and count a multiple of
     * 256. Rows are packed in parallel; the source's pages, if it is a mapping, are released
     * afterwards, so that resident memory holds the weights once.
     */
    static Tensor pack(Tensor t, int from, int count, String name, Arena arena) {
        if (t.type() != GgmlType.Q4_0 || t.layout() != Tensor.Layout.GGML || from % 32 != 0 || count % CHUNK != 0) {
            return null;
        }
        long srcRow = t.rowBytes();
        long colOff = t.type().bytesFor(from);
        long rowBytes = t.type().bytesFor(count);
        int rows = Math.toIntExact(t.rowCount());
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate(rowBytes * rows, 64);
        int chunks = count / CHUNK;
        IntStream.range(0, rows).parallel().forEach(r -> packRow(src, r * srcRow + colOff, dst, r * rowBytes, chunks));
        if (src.isMapped()) {
            src.unload();
        }
        return new Tensor(name, t.type(), new long[] {count, rows}, dst, Tensor.Layout.LANES);
    }

    static void packRow(MemorySegment src, long so, MemorySegment dst, long dOff, int chunks) {
        for (int c = 0; c < chunks; c++) {
            long o = dOff + (long) c * CHUNK_BYTES;
            for (int k = 0; k < 8; k++) {
                long b = so + (c * 8L + k) * 18;
                dst.set(I16, o + 2 * k, src.get(I16, b));
                for (int i = 0; i < 4; i++) {
                    // bytes 4i..4i+3 of the block: their low nibbles are values 4i.. (lane 2k), high ones 16 + 4i.. (lane 2k+1)
                    int x = src.get(INT, b + 2 + 4 * i);
                    long w = o + SCALE_BYTES + (i * 16L + 2 * k) * 2;
                    dst.set(I16, w, nibbles(x & 0x0F0F0F0F));
                    dst.set(I16, w + 2, nibbles((x >>> 4) & 0x0F0F0F0F));
                }
            }
        }
    }

    /** The four nibbles held in the low halves of the bytes of x, packed into 16 bits, byte 0's lowest. */
    private static short nibbles(int x) {
        x = (x | x >>> 4) & 0x00FF00FF;
        return (short) (x | x >>> 8);
    }

    /**
     * Σ W·x over the n values (whole chunks) of the packed row at {@code w[off..]}, x being values
     * xOff..xOff+n of a's lane-ordered activations, xOff a multiple of 256.
     */
    float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n) {
        checkBlocks(n, CHUNK);
        short[] q = a.lanes;
        float[] xd = a.scale;
        float[] xs = a.sums;
        IntVector mask = IntVector.broadcast(I32, 0x000F000F);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            int x = xOff + i;
            IntVector v0 = ShortVector.fromMemorySegment(S16, w, p + SCALE_BYTES, LE).reinterpretAsInts();
            IntVector v1 = ShortVector.fromMemorySegment(S16, w, p + SCALE_BYTES + 32, LE).reinterpretAsInts();
            IntVector v2 = ShortVector.fromMemorySegment(S16, w, p + SCALE_BYTES + 64, LE).reinterpretAsInts();
            IntVector v3 = ShortVector.fromMemorySegment(S16, w, p + SCALE_BYTES + 96, LE).reinterpretAsInts();
            ShortVector s = v0.and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x));
            s = s.add(v0.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 16)));
            s = s.add(v0.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 32)));
            s = s.add(v0.lanewise(VectorOperators.LSHR, 12).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 48)));
            s = s.add(v1.and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 64)));
            s = s.add(v1.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 80)));
            s = s.add(v1.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 96)));
            s = s.add(v1.lanewise(VectorOperators.LSHR, 12).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 112)));
            s = s.add(v2.and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 128)));
            s = s.add(v2.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 144)));
            s = s.add(v2.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 160)));
            s = s.add(v2.lanewise(VectorOperators.LSHR, 12).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 176)));
            s = s.add(v3.and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 192)));
            s = s.add(v3.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 208)));
            s = s.add(v3.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 224)));
            s = s.add(v3.lanewise(VectorOperators.LSHR, 12).and(mask).reinterpretAsShorts().mul(ShortVector.fromArray(S16, q, x + 240)));
            IntVector pr = s.reinterpretAsInts();
            FloatVector sum = (FloatVector) pr.add(pr.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, I32, 0);
            FloatVector d = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_TO_FLOAT)
                    .reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            int b = x >> 5;
            acc = sum.mul(FloatVector.fromArray(F, xd, b)).fma(d, acc);
            acc = d.mul(-8f).fma(FloatVector.fromArray(F, xs, b), acc);
        }
        float[] l = new float[8];
        acc.intoArray(l, 0);
        return lanes(l, 0);
    }

    /**
     * The nibbles of the n values (whole chunks) at {@code w[off..]} as shorts in lane order into
     * {@code dst[dstOff..]} (chunk by chunk: vector i·4 + nib at 16·(4i + nib)), and the block scales
     * into {@code scales[sOff..]}, one per 32 values: what {@link #dot} multiplies.
     */
    void decodeLanes(MemorySegment w, long off, short[] dst, int dstOff, float[] scales, int sOff, int n) {
        checkBlocks(n, CHUNK);
        IntVector mask = IntVector.broadcast(I32, 0x000F000F);
        for (int i = 0, c = 0; i < n; i += CHUNK, c++) {
            long p = off + (long) c * CHUNK_BYTES;
            for (int k = 0; k < 8; k++) {
                scales[sOff + c * 8 + k] = f16(w, p + 2 * k);
            }
            for (int v = 0; v < 4; v++) {
                IntVector x = ShortVector.fromMemorySegment(S16, w, p + SCALE_BYTES + 32 * v, LE).reinterpretAsInts();
                int o = dstOff + i + 64 * v;
                x.and(mask).reinterpretAsShorts().intoArray(dst, o);
                x.lanewise(VectorOperators.LSHR, 4).and(mask).reinterpretAsShorts().intoArray(dst, o + 16);
                x.lanewise(VectorOperators.LSHR, 8).and(mask).reinterpretAsShorts().intoArray(dst, o + 32);
                x.lanewise(VectorOperators.LSHR, 12).and(mask).reinterpretAsShorts().intoArray(dst, o + 48);
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
                    int word = w.get(I16, p + SCALE_BYTES + ((step / 4) * 16 + lane) * 2);
                    int q = (word >>> (4 * (step % 4))) & 15;
                    dst[dstOff + i + 16 * lane + step] = d * (q - 8);
                }
            }
        }
    }
}
