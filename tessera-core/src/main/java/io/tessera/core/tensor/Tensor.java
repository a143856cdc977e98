package io.tessera.core.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named tensor whose bytes live in a {@link MemorySegment} (usually a slice of a memory-mapped
 * model file, never a heap copy). Dimensions follow GGML order: {@code dims[0]} is the innermost
 * (contiguous) one, so a weight matrix {@code [out, in]} in row-major order has
 * {@code dims = {in, out}}: rows of {@code in} values, {@code out} of them.
 */
public record Tensor(String name, GgmlType type, long[] dims, MemorySegment data, Layout layout, RowScales rowScales) {

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

    /**
     * {@code rowScales} is present exactly for {@link GgmlType#W8A8}, one scale per row: code that
     * cuts or copies a W8A8 matrix must carry its scales, or the construction fails here.
     */
    public Tensor {
        dims = dims.clone();
        if ((type == GgmlType.W8A8) != (rowScales != null)) {
            throw new IllegalArgumentException("tensor '" + name + "': " + (rowScales == null
                    ? "W8A8 needs its row scales" : type + " has no row scales"));
        }
        if (rowScales != null && rowScales.scales().length != rowCountOf(dims)) {
            throw new IllegalArgumentException("tensor '" + name + "': " + rowScales.scales().length
                    + " row scales for " + rowCountOf(dims) + " rows");
        }
    }

    /** A tensor without row scales (every type but W8A8). */
    public Tensor(String name, GgmlType type, long[] dims, MemorySegment data, Layout layout) {
        this(name, type, dims, data, layout, null);
    }

    /** A tensor in the file's own layout. */
    public Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        this(name, type, dims, data, Layout.GGML);
    }

    /** A W8A8 matrix in the file's layout: int8 rows and their scales. */
    public static Tensor w8a8(String name, long[] dims, MemorySegment data, RowScales scales) {
        return new Tensor(name, GgmlType.W8A8, dims, data, Layout.GGML, scales);
    }

    /** The same tensor named otherwise, its data (of the same size) elsewhere, row scales kept. */
    public Tensor withData(String name, MemorySegment data) {
        return new Tensor(name, type, dims, data, layout, rowScales);
    }

    /** Rows {@code [from, from + count)} as a slice of the same bytes (and of the row scales). */
    public Tensor rowSlice(String name, long from, long count) {
        long rb = rowBytes();
        return new Tensor(name, type, new long[] {rowLength(), count}, data.asSlice(from * rb, count * rb), layout,
                rowScales == null ? null : rowScales.rows(from, count));
    }

    private static long rowCountOf(long[] dims) {
        long n = 1;
        for (int i = 1; i < dims.length; i++) {
            n = Math.multiplyExact(n, dims[i]);
        }
        return n;
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
                data.asSlice(Math.multiplyExact(bytes, (long) i), bytes), layout,
                rowScales == null ? null : rowScales.rows((long) i * dims[1], dims[1]));
    }

    @Override
    public String toString() {
        return name + " " + type + (layout == Layout.GGML ? "" : "/" + layout) + " " + Arrays.toString(dims)
                + (rowScales != null && rowScales.outlierThreshold() > 0 ? " outliers>" + rowScales.outlierThreshold() : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && data.equals(t.data) && layout == t.layout && java.util.Objects.equals(rowScales, t.rowScales);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }
}
