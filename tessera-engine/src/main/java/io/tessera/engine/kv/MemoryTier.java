package io.tessera.engine.kv;

import io.tessera.engine.kv.BlockManager.BlockKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Tier 2: evicted blocks' contents in off-heap slots of one block each, at most
 * {@code capacityBytes / blockBytes} of them, least recently used first. A slot's memory is taken
 * the first time it is needed and kept for reuse until {@link #close()}.
 *
 * <p>Not thread-safe: used from the engine's thread.
 */
final class MemoryTier implements AutoCloseable {

    private final long blockBytes;
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final List<MemorySegment> slots = new ArrayList<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    /** Access order: the eldest entry is the least recently stored or touched. */
    private final LinkedHashMap<BlockKey, Integer> entries = new LinkedHashMap<>(16, 0.75f, true);
    long hits;
    long misses;
    long written;
    long read;
    long dropped;

    MemoryTier(long capacityBytes, long blockBytes) {
        this.blockBytes = blockBytes;
        this.capacity = (int) Math.min(Integer.MAX_VALUE, capacityBytes / blockBytes);
    }

    int capacity() {
        return capacity;
    }

    boolean contains(BlockKey key) {
        return entries.containsKey(key);
    }

    /** Marks an entry as just used. */
    void touch(BlockKey key) {
        entries.get(key);
    }

    boolean full() {
        return entries.size() >= capacity;
    }

    /** The least recently used entry, or null when empty. */
    BlockKey eldest() {
        return entries.isEmpty() ? null : entries.keySet().iterator().next();
    }

    /** The contents held for {@code key} (valid until it is removed). */
    MemorySegment contents(BlockKey key) {
        return slots.get(entries.get(key));
    }

    /** A slot for a new entry, to be filled by the caller; the tier must not be full. */
    MemorySegment add(BlockKey key) {
        if (full() || entries.containsKey(key)) {
            throw new IllegalStateException("memory tier: no room for another block, or the block is held already");
        }
        Integer slot = freeSlots.pollFirst();
        if (slot == null) {
            slot = slots.size();
            slots.add(arena.allocate(blockBytes, 64));
        }
        entries.put(key, slot);
        written += blockBytes;
        return slots.get(slot);
    }

    void remove(BlockKey key) {
        Integer slot = entries.remove(key);
        if (slot != null) {
            freeSlots.addLast(slot);
        }
    }

    KvTierStats stats() {
        return new KvTierStats("memory", capacity * blockBytes, entries.size() * blockBytes, entries.size(), hits, misses,
                written, read, 0, dropped);
    }

    @Override
    public void close() {
        entries.clear();
        arena.close();
    }

    @Override
    public String toString() {
        return "memory tier: " + entries.size() + "/" + capacity + " blocks";
    }
}
