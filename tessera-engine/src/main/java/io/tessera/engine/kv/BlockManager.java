package io.tessera.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Allocates KV cache block ids; the cache memory itself lives with the executor. Keeps a reference
 * count per block (blocks shared by sequences with a common prefix, or by the samples of one
 * prompt), and a prefix cache: a full block is registered under the hash of its tokens chained with
 * its predecessor's hash, so that a later sequence starting with the same tokens reuses it.
 *
 * <p>Free blocks (reference count 0) wait in one LRU queue; those that are registered keep their
 * contents and stay findable until the queue hands them out again (eviction). Freed sequences push
 * their blocks last block first, so the tail of a prefix is evicted before its head.
 *
 * <p>With {@link KvOffload} tiers attached, an evicted block's contents are kept there, and a
 * lookup that misses the pool takes a free block and has the contents copied back into it.
 *
 * <p>Not thread-safe: owned by the scheduler's thread.
 */
public final class BlockManager {

    private static final int NONE = -1;

    private final int numBlocks;
    private final int blockSize;
    private final boolean prefixCaching;
    private final int[] refCount;
    private final int[] filled;
    private final BlockKey[] keyOf;
    // doubly linked LRU queue of free blocks
    private final int[] prev;
    private final int[] next;
    private final boolean[] inFree;
    private int head = NONE;
    private int tail = NONE;
    private int freeCount;
    private final Map<BlockKey, Integer> cached = new HashMap<>();
    private KvOffload offload;

    private int used;
    private long storedTokens;
    private long queryTokens;
    private long hitTokens;
    private long evictions;
    private long restoredBlocks;
    private int peakUsed;
    private double peakWaste;

    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("block pool needs positive sizes, got " + numBlocks + " blocks of "
                    + blockSize + " tokens");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
        this.refCount = new int[numBlocks];
        this.filled = new int[numBlocks];
        this.keyOf = new BlockKey[numBlocks];
        this.prev = new int[numBlocks];
        this.next = new int[numBlocks];
        this.inFree = new boolean[numBlocks];
        for (int b = 0; b < numBlocks; b++) {
            pushTail(b);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public boolean prefixCaching() {
        return prefixCaching;
    }

    /**
     * Keeps evicted cached blocks in {@code tiers} (null: forget them) and looks there when the
     * pool misses. Only with prefix caching: the tiers hold prefix-cache blocks.
     */
    public void offloadTo(KvOffload tiers) {
        if (tiers != null && !prefixCaching) {
            throw new IllegalStateException("KV offload tiers hold prefix-cache blocks; prefix caching is off");
        }
        this.offload = tiers;
    }

    /** Blocks that can be handed out now (free, cached or not). */
    public int freeBlocks() {
        return freeCount;
    }

    public int usedBlocks() {
        return used;
    }

    public int refCount(int block) {
        return refCount[block];
    }

    /** Takes a free block (evicting its cached contents if any), with reference count 1. */
    public int allocate() {
        if (head == NONE) {
            throw new IllegalStateException("no free KV block");
        }
        int b = head;
        unlink(b);
        if (keyOf[b] != null) {
            if (offload != null) {
                offload.offload(b, keyOf[b]); // before the new owner writes anything into it
            }
            cached.remove(keyOf[b], b);
            keyOf[b] = null;
            evictions++;
        }
        filled[b] = 0;
        refCount[b] = 1;
        used++;
        notePeak();
        return b;
    }

    /**
     * Forgets every cached block's contents (the KV memory was lost): the prefix cache empties and
     * free blocks hold nothing any more. Blocks in use keep their reference counts.
     */
    public void forgetCachedContents() {
        for (int b = 0; b < numBlocks; b++) {
            keyOf[b] = null;
            if (refCount[b] == 0) {
                filled[b] = 0;
            }
        }
        cached.clear();
    }

    /** Adds a reference to a block in use (a fork sharing it). */
    public void share(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("block " + block + " is not in use");
        }
        refCount[block]++;
    }

    /** Drops one reference; at zero the block becomes free (and stays cached if registered). */
    public void release(int block) {
        if (refCount[block] <= 0) {
            throw new IllegalStateException("block " + block + " released more often than taken");
        }
        if (--refCount[block] == 0) {
            used--;
            storedTokens -= filled[block];
            if (keyOf[block] == null) {
                filled[block] = 0;
            }
            pushTail(block);
        }
    }

    /**
     * Releases a block that held only rejected speculative positions: with nothing in it worth
     * keeping, it goes to the head of the free queue, handed out again before any cached block is
     * evicted. A block that is shared or registered is released as usual.
     */
    public void releaseRejected(int block) {
        if (refCount[block] != 1 || keyOf[block] != null) {
            release(block);
            return;
        }
        refCount[block] = 0;
        used--;
        storedTokens -= filled[block];
        filled[block] = 0;
        pushHead(block);
    }

    /** Releases a sequence's blocks, last first, so that prefix tails are evicted before heads. */
    public void releaseAll(int[] table, int count) {
        for (int i = count - 1; i >= 0; i--) {
            release(table[i]);
        }
    }

    /**
     * Looks a full block up in the prefix cache; on a hit takes a reference to it and returns its
     * id, else returns -1. When the pool misses and an offload tier holds the block, a free block is
     * taken, the contents are copied back into it, and it is registered and returned.
     */
    public int lookup(long hash, long parentHash, int[] tokens, int from) {
        if (!prefixCaching) {
            return NONE;
        }
        BlockKey key = new BlockKey(hash, parentHash, Arrays.copyOfRange(tokens, from, from + blockSize));
        Integer b = cached.get(key);
        if (b == null) {
            return restore(key);
        }
        if (refCount[b] == 0) {
            unlink(b);
            used++;
            storedTokens += filled[b];
            notePeak();
        }
        refCount[b]++;
        return b;
    }

    /** A block from the offload tiers in a fresh block of the pool, registered; -1 when none. */
    private int restore(BlockKey key) {
        if (offload == null || freeCount == 0 || !offload.contains(key)) {
            return NONE;
        }
        int b = allocate(); // may evict another block into the tiers
        if (!offload.restore(key, b)) {
            returnUnused(b);
            return NONE;
        }
        setFilled(b, blockSize);
        keyOf[b] = key;
        cached.put(key, b);
        restoredBlocks++;
        return b;
    }

    /** Gives back a block just allocated and never written: it is handed out first again. */
    private void returnUnused(int b) {
        refCount[b] = 0;
        filled[b] = 0;
        used--;
        pushHead(b);
    }

    /** Records a prefix-cache query of {@code tokens} tokens of which {@code hits} were found. */
    public void countQuery(int tokens, int hits) {
        queryTokens += tokens;
        hitTokens += hits;
    }

    /**
     * Registers a block whose tokens are now all computed. A block with the same contents already
     * registered (two sequences computed the same prefix at once) wins; this one stays private.
     */
    public void register(int block, long hash, long parentHash, int[] tokens, int from) {
        if (!prefixCaching || keyOf[block] != null) {
            return;
        }
        BlockKey key = new BlockKey(hash, parentHash, Arrays.copyOfRange(tokens, from, from + blockSize));
        if (cached.putIfAbsent(key, block) == null) {
            keyOf[block] = key;
        }
    }

    /** Notes that a block in use now holds {@code tokens} computed tokens (for the waste statistic). */
    public void setFilled(int block, int tokens) {
        if (tokens > filled[block]) {
            storedTokens += tokens - filled[block];
            filled[block] = tokens;
        }
    }

    /** Called once per step after tokens are committed: tracks the waste at peak usage. */
    public void sample() {
        if (used > 0 && used >= peakUsed) {
            peakUsed = used;
            peakWaste = wasteFraction();
        }
    }

    private void notePeak() {
        if (used > peakUsed) {
            peakUsed = used;
        }
    }

    /** Fraction of the slots of blocks in use that hold no token. */
    public double wasteFraction() {
        long slots = (long) used * blockSize;
        return slots == 0 ? 0 : 1.0 - (double) storedTokens / slots;
    }

    public KvStats stats() {
        return new KvStats(numBlocks, blockSize, used, cached.size(), freeCount, (long) used * blockSize, storedTokens,
                queryTokens, hitTokens, evictions, peakUsed, peakWaste, restoredBlocks,
                offload == null ? List.of() : offload.stats());
    }

    /** Checks internal invariants (tests): counts agree with the arrays. */
    public void checkConsistency() {
        int u = 0;
        int f = 0;
        long stored = 0;
        for (int b = 0; b < numBlocks; b++) {
            if (refCount[b] < 0) {
                throw new IllegalStateException("negative reference count on block " + b);
            }
            if (refCount[b] > 0) {
                u++;
                stored += filled[b];
                if (inFree[b]) {
                    throw new IllegalStateException("block " + b + " in use and in the free queue");
                }
            } else {
                f++;
                if (!inFree[b]) {
                    throw new IllegalStateException("block " + b + " is free but lost from the free queue");
                }
            }
        }
        int walked = 0;
        for (int b = head; b != NONE; b = next[b]) {
            walked++;
        }
        if (u != used || f != freeCount || walked != freeCount || stored != storedTokens) {
            throw new IllegalStateException("block counts out of step: used " + used + "/" + u + ", free " + freeCount
                    + "/" + f + "/" + walked + ", stored " + storedTokens + "/" + stored);
        }
    }

    private void pushTail(int b) {
        inFree[b] = true;
        prev[b] = tail;
        next[b] = NONE;
        if (tail != NONE) {
            next[tail] = b;
        } else {
            head = b;
        }
        tail = b;
        freeCount++;
    }

    private void pushHead(int b) {
        inFree[b] = true;
        prev[b] = NONE;
        next[b] = head;
        if (head != NONE) {
            prev[head] = b;
        } else {
            tail = b;
        }
        head = b;
        freeCount++;
    }

    private void unlink(int b) {
        if (!inFree[b]) {
            throw new IllegalStateException("block " + b + " is not free");
        }
        inFree[b] = false;
        if (prev[b] != NONE) {
            next[prev[b]] = next[b];
        } else {
            head = next[b];
        }
        if (next[b] != NONE) {
            prev[next[b]] = prev[b];
        } else {
            tail = prev[b];
        }
        freeCount--;
    }

    /**
     * Identity of a cached block: the chained hash plus, to rule out collisions between blocks, the
     * parent's hash and the block's own tokens (compared in full).
     */
    record BlockKey(long hash, long parentHash, int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof BlockKey k && k.hash == hash && k.parentHash == parentHash
                    && Arrays.equals(k.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(hash);
        }
    }
}
