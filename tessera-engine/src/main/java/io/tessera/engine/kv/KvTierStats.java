package io.tessera.engine.kv;

/**
 * Counters of one tier below the KV pool since the engine started.
 *
 * @param tier "memory" (tier 2, off-heap memory) or "disk" (tier 3, a directory)
 * @param capacityBytes the tier's bound
 * @param storedBytes bytes held now (for disk: the files' sizes)
 * @param blocks blocks held now
 * @param hits blocks brought back from this tier into the pool on a prefix lookup
 * @param misses lookups that reached this tier (the pool and any tier above missed) and did not
 *     find the block here; a corrupt or unreadable file counts as a miss
 * @param writtenBytes bytes copied into this tier
 * @param readBytes bytes copied out of this tier into the pool
 * @param corrupt disk entries whose file failed its checks (size, header, checksum) and were dropped
 * @param dropped blocks forgotten for lack of room (or, for disk, a failed write)
 */
public record KvTierStats(String tier, long capacityBytes, long storedBytes, int blocks, long hits, long misses,
        long writtenBytes, long readBytes, long corrupt, long dropped) {

    /** Share of the lookups that reached this tier and were served from it. */
    public double hitRate() {
        long n = hits + misses;
        return n == 0 ? 0 : (double) hits / n;
    }
}
