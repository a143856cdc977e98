package io.tessera.core.forward;

import io.tessera.core.kernel.NativeKernels;
import io.tessera.core.model.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A paged KV cache off the Java heap: per layer one segment of keys and one of values, each
 * {@code numBlocks × blockSize} token slots of {@code kvDim} values in the chosen
 * {@link KvCacheType}, laid out as {@link KvRows} says (a slot is one token's heads, each head whole
 * blocks of the type). The memory belongs to a shared {@link Arena} and is released by
 * {@link #close()}; the cache must not be used after that. It is allocated untouched
 * ({@link LazyNativeMemory}): a page becomes resident when the first token is written to it.
 *
 * <p>Thread safety: slots may be written and read from several threads at once as long as no two
 * threads write the same slot (the forward pass writes each token's slot once per layer, then reads).
 */
public final class PagedKvCache implements KvCache, AutoCloseable {

    private final KvCacheType type;
    private final KvRows rows;
    private final int layers;
    private final int blockSize;
    private final int numBlocks;
    private final int kvDim;
    private final long vectorBytes;
    private final long blockBytes;
    private final Arena arena;
    private final MemorySegment[] keys;
    private final MemorySegment[] values;

    public PagedKvCache(ModelConfig config, KvCacheType type, int numBlocks, int blockSize) {
        this(config.layers(), config.kvHeads(), config.headDim(), type, numBlocks, blockSize);
    }

    /** A cache of {@code layers} layers of {@code kvHeads} heads of {@code headDim} values (one rank's share). */
    public PagedKvCache(int layers, int kvHeads, int headDim, KvCacheType type, int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0 || (long) numBlocks * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks of " + blockSize
                    + " tokens is out of range");
        }
        this.type = type;
        this.layers = layers;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.rows = new KvRows(type, kvHeads, headDim);
        this.kvDim = kvHeads * headDim;
        this.vectorBytes = rows.tokenBytes();
        this.blockBytes = vectorBytes * blockSize;
        this.arena = Arena.ofShared();
        this.keys = new MemorySegment[layers];
        this.values = new MemorySegment[layers];
        try {
            for (int l = 0; l < layers; l++) {
                // not zeroed: a slot is always written before attention reads it
                keys[l] = LazyNativeMemory.allocate(blockBytes * numBlocks, arena);
                values[l] = LazyNativeMemory.allocate(blockBytes * numBlocks, arena);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw new IllegalStateException("cannot allocate a KV cache of " + 2L * layers * blockBytes * numBlocks
                    + " bytes: " + e.getMessage(), e);
        }
    }

    /** Bytes a cache of the whole model takes. */
    public static long bytes(ModelConfig config, KvCacheType type, int numBlocks, int blockSize) {
        return type.bytesPerToken(config.layers(), config.kvHeads(), config.headDim()) * blockSize * numBlocks;
    }

    /** How many blocks fit in a memory budget. */
    public static int blocksForBudget(ModelConfig config, KvCacheType type, int blockSize, long budgetBytes) {
        long perBlock = type.bytesPerToken(config.layers(), config.kvHeads(), config.headDim()) * blockSize;
        long blocks = budgetBytes / perBlock;
        return (int) Math.min(blocks, Integer.MAX_VALUE / blockSize);
    }

    public KvCacheType type() {
        return type;
    }

    public int layers() {
        return layers;
    }

    /** Bytes held off-heap. */
    public long byteSize() {
        return 2L * layers * blockBytes * numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int kvDim() {
        return kvDim;
    }

    @Override
    public void store(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        long base = slot * vectorBytes;
        rows.write(keys[layer], base, k, kOffset);
        rows.write(values[layer], base, v, vOffset);
    }

    /**
     * Widens n stored keys of a slot from value kvOffset (a block's first value: any value of the
     * unscaled types, a head's first of int8 and fp8_e4m3, every 32nd of q8_0).
     */
    @Override
    public void readKey(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        rows.read(keys[layer], slot * vectorBytes, kvOffset, dst, dstOffset, n);
    }

    @Override
    public void readValue(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        rows.read(values[layer], slot * vectorBytes, kvOffset, dst, dstOffset, n);
    }

    /**
     * The rows of one layer's keys (or values) and one KV head as the native attention kernels read
     * them, or null when this cache's type has no native reader (the Java path then reads it).
     */
    NativeKernels.KvRows nativeRows(int layer, boolean keys, int kvOffset, int headDim, int[] slots, int from, int len) {
        int code = switch (type) {
            case F32 -> NativeKernels.KV_F32;
            case F16 -> NativeKernels.KV_F16;
            case BF16 -> NativeKernels.KV_BF16;
            default -> -1;
        };
        if (code < 0) {
            return null;
        }
        return new NativeKernels.KvRows(keys ? this.keys[layer] : values[layer], vectorBytes, code,
                rows.offsetOf(kvOffset), slots, from, len, headDim);
    }

    @Override
    public void copyBlock(int src, int dst) {
        if (src < 0 || src >= numBlocks || dst < 0 || dst >= numBlocks) {
            throw new IllegalArgumentException("block copy " + src + " -> " + dst + " outside 0.." + (numBlocks - 1));
        }
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(keys[l], src * blockBytes, keys[l], dst * blockBytes, blockBytes);
            MemorySegment.copy(values[l], src * blockBytes, values[l], dst * blockBytes, blockBytes);
        }
    }

    /**
     * Bytes of one block's contents as {@link #readBlock} writes them: per layer the block's keys,
     * then its values, in the cache's own precision.
     */
    public long blockContentBytes() {
        return 2L * layers * blockBytes;
    }

    /** Copies every slot of {@code block}, all layers, into {@code dst} ({@link #blockContentBytes} bytes). */
    public void readBlock(int block, MemorySegment dst) {
        checkBlockContents(block, dst);
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(keys[l], block * blockBytes, dst, 2L * l * blockBytes, blockBytes);
            MemorySegment.copy(values[l], block * blockBytes, dst, (2L * l + 1) * blockBytes, blockBytes);
        }
    }

    /** Overwrites every slot of {@code block}, all layers, with contents {@link #readBlock} produced. */
    public void writeBlock(int block, MemorySegment src) {
        checkBlockContents(block, src);
        for (int l = 0; l < layers; l++) {
            MemorySegment.copy(src, 2L * l * blockBytes, keys[l], block * blockBytes, blockBytes);
            MemorySegment.copy(src, (2L * l + 1) * blockBytes, values[l], block * blockBytes, blockBytes);
        }
    }

    private void checkBlockContents(int block, MemorySegment contents) {
        checkBlock(block);
        if (contents.byteSize() < blockContentBytes()) {
            throw new IllegalArgumentException("a block's contents take " + blockContentBytes() + " bytes; the buffer has "
                    + contents.byteSize());
        }
    }

    /** Bytes one block of one layer takes, keys and values together: what {@link #readBlockLayer} gives. */
    public long blockLayerBytes() {
        return 2 * blockBytes;
    }

    /**
     * Copies one layer of one block, in the cache's own precision, keys then values, to
     * {@code dst[off, off + blockLayerBytes())}: the unit a KV transfer moves.
     */
    public void readBlockLayer(int layer, int block, byte[] dst, int off) {
        checkBlock(block);
        MemorySegment.copy(keys[layer], ValueLayout.JAVA_BYTE, block * blockBytes, dst, off, (int) blockBytes);
        MemorySegment.copy(values[layer], ValueLayout.JAVA_BYTE, block * blockBytes, dst, off + (int) blockBytes,
                (int) blockBytes);
    }

    /** Writes one layer of one block as {@link #readBlockLayer} gave it (the same type and shape). */
    public void writeBlockLayer(int layer, int block, byte[] src, int off) {
        checkBlock(block);
        MemorySegment.copy(src, off, keys[layer], ValueLayout.JAVA_BYTE, block * blockBytes, (int) blockBytes);
        MemorySegment.copy(src, off + (int) blockBytes, values[layer], ValueLayout.JAVA_BYTE, block * blockBytes,
                (int) blockBytes);
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= numBlocks) {
            throw new IllegalArgumentException("block " + block + " outside 0.." + (numBlocks - 1));
        }
    }

    /** Reads back one stored value as a float (for tests and debugging). */
    public float key(int layer, int slot, int i) {
        return rows.value(keys[layer], slot * vectorBytes, i);
    }

    public float value(int layer, int slot, int i) {
        return rows.value(values[layer], slot * vectorBytes, i);
    }

    @Override
    public void close() {
        arena.close();
    }
}
