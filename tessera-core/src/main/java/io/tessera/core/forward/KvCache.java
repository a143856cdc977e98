package io.tessera.core.forward;

/**
 * Keys and values of past tokens, stored in fixed-size blocks of token slots (slot = block ·
 * blockSize + offset). A sequence reaches its tokens through a block table, so the cache can be
 * paged and shared without the forward pass knowing how blocks are allocated.
 *
 * <p>A cache may store values in another precision (F16, BF16, or 8-bit codes with scales, see
 * {@link KvCacheType}); it widens them to floats one head-row at a time, so that attention widens each key and value once for every query head and
 * token that reads it, and the forward pass does not change with the precision.
 */
public interface KvCache {

    int blockSize();

    int numBlocks();

    /** Values per token for K (and for V): kvHeads × headDim. */
    int kvDim();

    /** Stores one token's keys and values (kvDim floats each) of one layer into a slot. */
    void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset);

    /** Keys of a slot from kvOffset within the token, n of them, as floats into dst[dstOffset, dstOffset+n). */
    void readKey(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n);

    /** Values of a slot from kvOffset within the token, n of them, as floats into dst[dstOffset, dstOffset+n). */
    void readValue(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n);

    /**
     * Copies every slot of block {@code src} into block {@code dst}, in all layers (copy-on-write
     * of a block shared by several sequences before one of them writes to it).
     */
    void copyBlock(int src, int dst);
}
