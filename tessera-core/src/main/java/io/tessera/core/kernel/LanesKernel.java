package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rows repacked when the model is loaded ({@link Tensor.Layout#LANES}) so that a dot product needs
 * no horizontal work per block: each 256-value chunk keeps the file's bytes, rearranged so that a
 * 16-bit lane of a 256-bit load only ever meets values of one block (4-bit types,
 * {@link NibbleLanesKernel}; Q8_0, {@link Q8_0LanesKernel}) or one 16-value sub-block (Q6_K,
 * {@link Q6KLanesKernel}). The
 * activations are rearranged the same way ({@link Q8Activations#lanes}): value {@code 16L + s} of
 * a chunk is step s of lane L. A dot product sums a whole chunk in 16-bit lanes and scales its
 * blocks as vectors.
 *
 * <p>Memory: the repacked rows take the same bytes as the file's, in anonymous memory; the mapped
 * source pages are released once copied, so resident memory holds the weights once.
 *
 * <p>Matrix products ({@link MatMul}) decode a band of rows into a panel of shorts in the same lane
 * order ({@link #decodeLanes}) and repeat, per (row, token, chunk), the dot product's integer sums
 * and float operations, so a token's result does not depend on its batch.
 */
abstract sealed class LanesKernel extends WeightKernel permits NibbleLanesKernel, Q6KLanesKernel, Q8_0LanesKernel {

    /** Values per chunk. */
    static final int CHUNK = 256;

    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    static final VectorSpecies<Integer> I32 = IntVector.SPECIES_256;
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    /**
     * 2^112: turns the bits of a half shifted into a float's place into the half's value. The dot
     * products widen eight scales at once as {@link F16Kernel} does: the sign-extended half shifted
     * left by 13, its sign's copies in bits 28-30 cleared ({@code & 0x8FFFE000}), times 2^112.
     */
    static final float HALF_TO_FLOAT = 0x1p112f;

    LanesKernel(GgmlType type) {
        super(type);
    }

    /** The lane-order kernel of a weight type, or null if it has none. */
    static LanesKernel forType(GgmlType type) {
        return switch (type) {
            case Q8_0 -> Q8_0LanesKernel.INSTANCE;
            case Q4_0 -> Q4_0LanesKernel.INSTANCE;
            case Q4_K -> Q4KLanesKernel.INSTANCE;
            case Q6_K -> Q6KLanesKernel.INSTANCE;
            default -> null;
        };
    }

    /**
     * Columns {@code [from, from + count)} of every row of t, repacked into memory of {@code arena};
     * null unless t's type has a lane layout, t is in the file's layout, from is on a block boundary
     * and count a multiple of 256. Rows are packed in parallel; the source's pages, if it is a
     * mapping, are released afterwards, so that resident memory holds the weights once.
     */
    static Tensor pack(Tensor t, int from, int count, String name, Arena arena) {
        LanesKernel k = forType(t.type());
        if (k == null || t.layout() != Tensor.Layout.GGML || from % t.type().blockSize() != 0 || count % CHUNK != 0) {
            return null;
        }
        long srcRow = t.rowBytes();
        long colOff = t.type().bytesFor(from);
        long rowBytes = t.type().bytesFor(count);
        long chunkBytes = t.type().bytesFor(CHUNK);
        int rows = Math.toIntExact(t.rowCount());
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate(rowBytes * rows, 64);
        int chunks = count / CHUNK;
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int c = 0; c < chunks; c++) {
                k.packChunk(src, r * srcRow + colOff + c * chunkBytes, dst, r * rowBytes + c * chunkBytes);
            }
        });
        if (src.isMapped()) {
            src.unload();
        }
        return new Tensor(name, t.type(), new long[] {count, rows}, dst, Tensor.Layout.LANES);
    }

    /**
     * The half-precision scales of the file's eight blocks of {@code blockBytes} bytes at
     * {@code src[so..]}, each at the start of its block, into a chunk header at {@code dst[o..]}.
     */
    static void packBlockScales(MemorySegment src, long so, int blockBytes, MemorySegment dst, long o) {
        for (int k = 0; k < 8; k++) {
            dst.set(I16, o + 2 * k, src.get(I16, so + (long) blockBytes * k));
        }
    }

    /** Rearranges one 256-value chunk from the file's bytes at {@code src[so..]} into lane order at {@code dst[o..]}. */
    abstract void packChunk(MemorySegment src, long so, MemorySegment dst, long o);

    /**
     * Σ W·x over the n values (whole chunks) of the packed row at {@code w[off..]}, x being values
     * xOff..xOff+n of a's lane-ordered activations, xOff a multiple of 256.
     */
    abstract float dot(MemorySegment w, long off, Q8Activations a, int xOff, int n);

    /**
     * The n values (whole chunks) at {@code w[off..]} as shorts in lane order into {@code dst[dstOff..]}
     * (step s of a chunk's lanes at 16·s), with the scales into {@code s[sOff..]} and, for types
     * that have them, the offsets into {@code m[sOff..]}: what {@link #dot} multiplies and adds.
     */
    abstract void decodeLanes(MemorySegment w, long off, short[] dst, int dstOff, float[] s, float[] m, int sOff, int n);
}
