package io.tessera.core.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named tensor whose bytes live in a {@link MemorySegment} (usually a slice of a memory-mapped
 * model file, never a heap copy). Dimensions follow GGML order: {@code dims[0]} is the innermost
 * (contiguous) one, so a weight matrix {@code [out, in]} in row-major order has
 * {@code dims = {in, out}}: rows of {@code in} values, {@code out} of them.
 */
public record Tensor(String name, GgmlType type, long[] dims, MemorySegment data, Layout layout) {

    /** How the blocks of a row are arranged in {@link #data}. */
    public enum Layout {
        /** As in a GGUF file: the type's blocks one after another. */
        GGML,
        /**
         * Repacked when the model is loaded, for faster integer kernels (Q4_0 and Q4_K rows of a
         * multiple of 256 values): the same bytes per row, rearranged within each 256 values; see
         * {@code io.tessera.core.kernel.LanesKernel}.
         */
        LANES
    }

    public Tensor {
        dims = dims.clone();
    }

    /** A tensor in the file's own layout. */
    public Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        this(name, type, dims, data, Layout.GGML);
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Length of one row (the innermost dimension). */
    public int rowLength() {
        return Math.toIntExact(dims[0]);
    }

    /** Number of rows: the product of all dimensions but the innermost. */
    public long rowCount() {
        return elementCount() / dims[0];
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.bytesFor(dims[0]);
    }

    /**
     * Matrix {@code i} of a 3-D tensor of GGML dims {@code {cols, rows, count}} (stacked experts):
     * a {@code {cols, rows}} view of its bytes, named {@code name[i]}.
     */
    public Tensor stackedMatrix(int i) {
        if (dims.length != 3 || i < 0 || i >= dims[2]) {
            throw new IllegalArgumentException(this + " has no matrix " + i);
        }
        long bytes = Math.multiplyExact(rowBytes(), dims[1]);
        return new Tensor(name + "[" + i + "]", type, new long[] {dims[0], dims[1]},
                data.asSlice(Math.multiplyExact(bytes, (long) i), bytes), layout);
    }

    @Override
    public String toString() {
        return name + " " + type + (layout == Layout.GGML ? "" : "/" + layout) + " " + Arrays.toString(dims);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && data.equals(t.data) && layout == t.layout;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }
}
