package io.tessera.core.gguf;

import java.io.IOException;

/**
 * Produces a tensor one row at a time ({@code dims[0]} values), so that a writer can stream a
 * model of any size without holding it in memory.
 */
@FunctionalInterface
public interface RowSource {
    /** Fills {@code dst} (one row) with row {@code rowIndex}, rows numbered 0 .. product(dims[1..]) - 1. */
    void row(long rowIndex, float[] dst) throws IOException;
}
