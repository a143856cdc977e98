package io.tessera.core.forward;

/**
 * Keys and values of past tokens, stored in fixed-size blocks of token slots (slot = block ·
 * blockSize + offset). A sequence reaches its tokens through a block table, so the cache can be
 * paged and shared without the forward pass knowing how blocks are allocated.
 *
 * <p>The attention inner loops live here, so that a cache may store values in another precision
 * (F16, BF16, 8-bit) without the forward pass changing.
 */
public interface KvCache {

    int blockSize();

    int numBlocks();

    /** Values per token for K (and for V): kvHeads × headDim. */
    int kvDim();

    /** Stores one token's keys and values (kvDim floats each) of one layer into a slot. */
    void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset);

    /** Dot product of q[qOffset, qOffset+n) with the keys of a slot starting at kvOffset within the token. */
    float dotKey(int layer, int slot, int kvOffset, float[] q, int qOffset, int n);

    /** out[outOffset+i] += weight · V[slot][kvOffset+i] for i < n. */
    void addValue(int layer, int slot, int kvOffset, float weight, float[] out, int outOffset, int n);

    /**
     * Copies every slot of block {@code src} into block {@code dst}, in all layers (copy-on-write
     * of a block shared by several sequences before one of them writes to it).
     */
    void copyBlock(int src, int dst);
}
