package io.tessera.engine.kv;

import io.tessera.engine.kv.BlockManager.BlockKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The KV tiers below the pool: when the block manager evicts a cached prefix block, its contents go
 * to tier 2 (off-heap memory); when tier 2 is full its least recently used block moves to tier 3 (a
 * directory), and when that is full its least recently used file is deleted. A prefix lookup that
 * misses the pool finds the block here, and it is copied back into a freshly allocated block instead
 * of being recomputed. A block is held by one tier at a time: taking it back removes it here.
 *
 * <p>Entries are keyed as the pool's prefix cache keys them (chained hash, parent hash, the block's
 * tokens), so a block comes back only for the same tokens after the same prefix. The contents are
 * the cache's own bytes, so a restored block equals the evicted one bit for bit.
 *
 * <p>Owned by the executor whose cache it copies; used from the engine's thread; not thread-safe.
 */
public final class KvOffload implements AutoCloseable {

    private final BlockContents contents;
    private final MemoryTier memory;
    private final DiskTier disk;
    /** One block's contents on their way between the pool and the disk when there is no memory tier. */
    private final Arena scratchArena;
    private final MemorySegment scratch;

    private KvOffload(BlockContents contents, MemoryTier memory, DiskTier disk) {
        this.contents = contents;
        this.memory = memory;
        this.disk = disk;
        this.scratchArena = Arena.ofShared();
        this.scratch = scratchArena.allocate(contents.bytes(), 64);
    }

    /**
     * The tiers of {@code config} over the blocks {@code contents} moves; null when it asks for none.
     *
     * @throws IllegalArgumentException when the memory tier would not hold one block
     * @throws UncheckedIOException when the directory cannot be used
     * @throws IllegalStateException when another engine uses the directory
     */
    public static KvOffload open(KvOffloadConfig config, BlockContents contents) {
        if (!config.enabled()) {
            return null;
        }
        long blockBytes = contents.bytes();
        if (config.memoryBytes() > 0 && config.memoryBytes() < blockBytes) {
            throw new IllegalArgumentException("a KV offload memory of " + config.memoryBytes()
                    + " bytes holds no block (" + blockBytes + " bytes each)");
        }
        MemoryTier memory = config.memoryBytes() > 0 ? new MemoryTier(config.memoryBytes(), blockBytes) : null;
        DiskTier disk = null;
        if (config.directory() != null) {
            try {
                disk = new DiskTier(config.directory(), config.diskBytes(), blockBytes);
            } catch (IOException e) {
                if (memory != null) {
                    memory.close();
                }
                throw new UncheckedIOException("cannot use the KV offload directory " + config.directory() + ": "
                        + e.getMessage(), e);
            } catch (RuntimeException e) {
                if (memory != null) {
                    memory.close();
                }
                throw e;
            }
        }
        return new KvOffload(contents, memory, disk);
    }

    /** Whether a lower tier holds the block; a lookup that finds nothing counts as a miss in every tier. */
    boolean contains(BlockKey key) {
        if ((memory != null && memory.contains(key)) || (disk != null && disk.contains(key))) {
            return true;
        }
        if (memory != null) {
            memory.misses++;
        }
        if (disk != null) {
            disk.misses++;
        }
        return false;
    }

    /**
     * Keeps the contents of {@code block}, which the pool is about to hand out again. Called before
     * anything overwrites the block.
     */
    void offload(int block, BlockKey key) {
        if (memory != null && memory.contains(key)) {
            memory.touch(key);
            return;
        }
        if (disk != null && disk.contains(key)) {
            disk.touch(key);
            return;
        }
        if (memory != null) {
            if (memory.full()) {
                spillEldest();
            }
            contents.read(block, memory.add(key));
        } else {
            contents.read(block, scratch);
            disk.put(key, scratch);
        }
    }

    /** Moves tier 2's least recently used block to tier 3, or forgets it when there is none. */
    private void spillEldest() {
        BlockKey eldest = memory.eldest();
        if (disk != null) {
            disk.put(eldest, memory.contents(eldest));
        } else {
            memory.dropped++;
        }
        memory.remove(eldest);
    }

    /**
     * Copies the block's contents into {@code block} (freshly allocated) and forgets them here.
     * Returns false when no tier holds it any more or its file failed a check.
     */
    boolean restore(BlockKey key, int block) {
        if (memory != null) {
            if (memory.contains(key)) {
                contents.write(block, memory.contents(key));
                memory.remove(key);
                memory.hits++;
                memory.read += contents.bytes();
                return true;
            }
            memory.misses++;
        }
        if (disk != null && disk.take(key, scratch)) {
            contents.write(block, scratch);
            return true;
        }
        return false;
    }

    /** One entry per tier present: memory, then disk. */
    public List<KvTierStats> stats() {
        List<KvTierStats> out = new ArrayList<>(2);
        if (memory != null) {
            out.add(memory.stats());
        }
        if (disk != null) {
            out.add(disk.stats());
        }
        return List.copyOf(out);
    }

    /** One line for logs, e.g. "KV offload: memory 1024 blocks, disk /var/cache/kv (8 GiB)". */
    public String describe() {
        StringBuilder b = new StringBuilder("KV offload:");
        if (memory != null) {
            b.append(" memory ").append(memory.capacity()).append(" blocks");
        }
        if (disk != null) {
            b.append(memory != null ? "," : "").append(" disk ").append(disk.stats().capacityBytes() >> 20)
                    .append(" MiB");
        }
        return b.toString();
    }

    @Override
    public void close() {
        try {
            if (disk != null) {
                disk.close();
            }
        } finally {
            if (memory != null) {
                memory.close();
            }
            scratchArena.close();
        }
    }
}
