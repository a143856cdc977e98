package io.tessera.core.gguf;

import io.tessera.core.tensor.GgmlType;
import java.util.Arrays;

/**
 * A tensor as the GGUF header describes it. {@code dims} are in GGML order ({@code dims[0]}
 * innermost); {@code offset} is relative to the start of the file's data section.
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset) {

    public GgufTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of the tensor's data. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
