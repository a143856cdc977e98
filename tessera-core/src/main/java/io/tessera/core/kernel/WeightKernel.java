package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products of one weight row, stored in some {@link GgmlType} and read in place from its
 * memory mapping, with float activation rows. Weights are dequantized in registers, block by block;
 * no float copy of a matrix is ever made.
 *
 * <p><b>One summation order.</b> Every implementation computes the dot product of a (row, token)
 * pair with exactly the same sequence of floating-point operations whether it is asked for one
 * token ({@link #dot}) or for four at once ({@link #dot4}): the row is cut into 32-value blocks,
 * each block's products are summed in a fixed chain in 8-lane vectors, the block sums are added to
 * one accumulator in block order, and the lanes are added in a fixed order at the end (never
 * {@code reduceLanes}, whose order is unspecified). A token's result therefore does not depend on
 * which other tokens share its batch, nor on the tile a matrix multiplication chose. Tests check
 * the two paths bit for bit.
 */
public abstract class WeightKernel {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    private final GgmlType type;

    WeightKernel(GgmlType type) {
        this.type = type;
    }

    public final GgmlType type() {
        return type;
    }

    /** The kernel for a weight type; throws for types Tessera cannot compute with. */
    public static WeightKernel of(GgmlType type) {
        return switch (type) {
            case F32 -> F32Kernel.INSTANCE;
            case F16 -> F16Kernel.INSTANCE;
            case BF16 -> Bf16Kernel.INSTANCE;
            case Q8_0 -> Q8_0Kernel.INSTANCE;
            case Q4_0 -> Q4_0Kernel.INSTANCE;
            case Q4_1 -> Q4_1Kernel.INSTANCE;
            case Q4_K -> Q4KKernel.INSTANCE;
            case Q6_K -> Q6KKernel.INSTANCE;
            default -> throw new UnsupportedOperationException("no kernel for tensor type " + type);
        };
    }

    /** Σ W[i]·x[xOff+i] for i < n, W being the n values stored at {@code w[off..]}. */
    public abstract float dot(MemorySegment w, long off, float[] x, int xOff, int n);

    /**
     * The same dot product for four activation rows at once (x rows at {@code xOff + k·xStride},
     * results to {@code out[outOff + k·outStride]}, k < 4), decoding each weight block once. Bit
     * for bit equal to four calls of {@link #dot}.
     */
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        for (int k = 0; k < 4; k++) {
            out[outOff + k * outStride] = dot(w, off, x, xOff + k * xStride, n);
        }
    }

    /** Dequantizes the n values stored at {@code w[off..]} into {@code dst[dstOff..]}. */
    public abstract void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n);

    /**
     * Adds 8 lanes stored at l[o..o+8) in a fixed order (vectors are stored with intoArray and
     * added here rather than with reduceLanes, whose order is unspecified and may differ between
     * compiled and interpreted code).
     */
    static float lanes(float[] l, int o) {
        return ((l[o] + l[o + 1]) + (l[o + 2] + l[o + 3])) + ((l[o + 4] + l[o + 5]) + (l[o + 6] + l[o + 7]));
    }

    static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    static void checkBlocks(int n, int block) {
        if (n % block != 0) {
            throw new IllegalArgumentException("row length " + n + " is not a multiple of the block size " + block);
        }
    }
}
