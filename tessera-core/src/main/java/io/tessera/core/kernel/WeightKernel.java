package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One weight row, stored in some {@link GgmlType} and read in place from its memory mapping. Weights
 * are rebuilt in registers, eight values at a time; no float copy of a matrix is ever made (matrix
 * products decode a small panel of a few rows at a time, see {@link MatMul}). A kernel multiplies
 * either float activations ({@link FloatDotKernel}) or activations rounded to 8-bit integers
 * ({@link Q8DotKernel}: Q4_0, Q4_K and Q6_K).
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

    /** The kernel for a tensor: that of its type, or of its load-time layout. */
    public static WeightKernel of(Tensor t) {
        if (t.layout() == Tensor.Layout.GGML) {
            return of(t.type());
        }
        return LanesKernel.forType(t.type());
    }

    /**
     * A weight matrix in the layout its kernels run fastest on: Q8_0, Q4_0, Q4_K and Q6_K matrices whose
     * rows are a multiple of 256 values are repacked into {@code arena} ({@link LanesKernel}: same
     * size; a mapped source's pages are released); other tensors are returned as they are.
     */
    public static Tensor repackForKernels(Tensor t, Arena arena) {
        Tensor r = repackColumns(t, 0, t.rowLength(), t.name(), arena);
        return r == null ? t : r;
    }

    /**
     * Columns {@code [from, from + count)} of every row of t, repacked as {@link #repackForKernels}
     * does and named {@code name}; null when t or that range has no faster layout.
     */
    public static Tensor repackColumns(Tensor t, int from, int count, String name, Arena arena) {
        return LanesKernel.pack(t, from, count, name, arena);
    }

    /** The kernel for a weight type; throws for types Tessera cannot compute with. */
    public static WeightKernel of(GgmlType type) {
        return switch (type) {
            case F32 -> F32Kernel.INSTANCE;
            case F16 -> F16Kernel.INSTANCE;
            case BF16 -> Bf16Kernel.INSTANCE;
            case FP8 -> Fp8Kernel.INSTANCE;
            case Q8_0 -> Q8_0Kernel.INSTANCE;
            case Q4_0 -> Q4_0Kernel.INSTANCE;
            case Q4_1 -> Q4_1Kernel.INSTANCE;
            case Q4_K -> Q4KKernel.INSTANCE;
            case Q6_K -> Q6KKernel.INSTANCE;
            default -> throw new UnsupportedOperationException("no kernel for tensor type " + type);
        };
    }

    /**
     * Rebuilds the n values stored at {@code w[off..]} into {@code dst[dstOff..]}, as the same floats
     * the dot products use. For quantized types n is a multiple of the block size and off the start
     * of a block.
     */
    public abstract void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n);

    /**
     * Adds 8 lanes stored at l[o..o+8) in a fixed order (vectors are stored with intoArray and
     * added here rather than with reduceLanes, whose order is unspecified and may differ between
     * compiled and interpreted code).
     */
    static float lanes(float[] l, int o) {
        return ((l[o] + l[o + 1]) + (l[o + 2] + l[o + 3])) + ((l[o + 4] + l[o + 5]) + (l[o + 6] + l[o + 7]));
    }

    /**
     * The 8 lanes of v added in the order of {@link #lanes(float[], int)}, taken out one by one: a
     * vector stored into an array keeps escape analysis from removing the array, so the store costs
     * an allocation per dot product (most of the garbage of a decode step).
     */
    static float lanes(FloatVector v) {
        return ((v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3))) + ((v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7)));
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
