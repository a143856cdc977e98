package io.tessera.engine.kv;

import java.lang.foreign.MemorySegment;

/**
 * Moves the contents of one KV block (all layers, keys and values, in the cache's own precision)
 * out of the executor's cache and back in. The engine never looks inside the bytes; it keeps them
 * for a block that was evicted and puts them back into a freshly allocated block later.
 */
public interface BlockContents {

    /** Bytes of one block's contents. */
    long bytes();

    /** Copies block {@code block}'s contents into {@code dst} ({@link #bytes()} bytes). */
    void read(int block, MemorySegment dst);

    /** Overwrites block {@code block} with contents {@link #read} produced. */
    void write(int block, MemorySegment src);
}
