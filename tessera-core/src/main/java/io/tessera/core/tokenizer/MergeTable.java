package io.tessera.core.tokenizer;

import java.util.Arrays;

/**
 * The BPE merges as an open-addressing hash table from a pair of token ids to the merge's rank
 * (its position in the merge list: lower merges first) and the id of the merged token. Avoids
 * boxing on the encoder's hot path.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private long[] keys;
    private int[] ranks;
    private int[] merged;
    private int mask;
    private int size;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        ranks = new int[capacity];
        merged = new int[capacity];
        mask = capacity - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        int i = (int) (h >>> 40) & mask;
        while (keys[i] != EMPTY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        return i;
    }

    /** Adds or replaces a merge; a pair listed twice keeps its last rank, as Hugging Face's map does. */
    void put(int left, int right, int rank, int mergedId) {
        long k = key(left, right);
        int i = slot(k);
        if (keys[i] == EMPTY) {
            keys[i] = k;
            if (++size * 2 > keys.length) {
                ranks[i] = rank;
                merged[i] = mergedId;
                grow();
                return;
            }
        }
        ranks[i] = rank;
        merged[i] = mergedId;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldRanks = ranks;
        int[] oldMerged = merged;
        keys = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        ranks = new int[keys.length];
        merged = new int[keys.length];
        mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != EMPTY) {
                int i = slot(oldKeys[j]);
                keys[i] = oldKeys[j];
                ranks[i] = oldRanks[j];
                merged[i] = oldMerged[j];
            }
        }
    }

    /** The rank of merging the pair, or -1 if the pair does not merge. */
    int rank(int left, int right) {
        int i = slot(key(left, right));
        return keys[i] == EMPTY ? -1 : ranks[i];
    }

    /** The merged token of a pair that {@link #rank} found. */
    int mergedId(int left, int right) {
        return merged[slot(key(left, right))];
    }

    int size() {
        return size;
    }
}
