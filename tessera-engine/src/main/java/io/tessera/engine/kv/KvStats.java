package io.tessera.engine.kv;

import java.util.List;

/**
 * A snapshot of the KV block pool.
 *
 * @param usedBlocks blocks referenced by at least one sequence
 * @param cachedBlocks blocks registered in the prefix cache (in use or free)
 * @param freeBlocks blocks that can be handed out (includes free cached blocks)
 * @param allocatedTokens token slots of the blocks in use
 * @param storedTokens slots of the blocks in use that hold a computed token
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache
 * @param prefixHitTokens of those, tokens found
 * @param peakUsedBlocks most blocks in use at once
 * @param peakWasteFraction share of unused slots among allocated ones, at the peak
 * @param restoredBlocks blocks brought back from the offload tiers instead of being recomputed
 * @param offloadTiers the tiers below the pool (memory, then disk; empty when there are none)
 */
public record KvStats(
        int totalBlocks,
        int blockSize,
        int usedBlocks,
        int cachedBlocks,
        int freeBlocks,
        long allocatedTokens,
        long storedTokens,
        long prefixQueryTokens,
        long prefixHitTokens,
        long evictions,
        int peakUsedBlocks,
        double peakWasteFraction,
        long restoredBlocks,
        List<KvTierStats> offloadTiers) {

    public double hitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }

    public double wasteFraction() {
        return allocatedTokens == 0 ? 0 : 1.0 - (double) storedTokens / allocatedTokens;
    }
}
