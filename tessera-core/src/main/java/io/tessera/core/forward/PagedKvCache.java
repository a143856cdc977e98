package io.tessera.core.forward;

import io.tessera.core.model.ModelConfig;
import io.tessera.core.kernel.NativeKernels;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.quant.BFloat16;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A paged KV cache off the Java heap: per layer one segment of keys and one of values, each
 * {@code numBlocks × blockSize} token slots of {@code kvDim} values in the chosen
 * {@link KvCacheType}. The memory belongs to a shared {@link Arena} and is released by
 * {@link #close()}; the cache must not be used after that. It is allocated untouched
 * ({@link LazyNativeMemory}): a page becomes resident when the first token is written to it.
 *
 * <p>Thread safety: slots may be written and read from several threads at once as long as no two
 * threads write the same slot (the forward pass writes each token's slot once per layer, then reads).
 */
public final class PagedKvCache implements KvCache, AutoCloseable {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** The Q8_0 cache's encoder: the weight format's, so a cached row holds what a Q8_0 tensor would. */
    private static final QuantCodec Q8_0_CODEC = QuantCodec.of(GgmlType.Q8_0);

    private final KvCacheType type;
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
        this(config.layers(), config.kvDim(), type, numBlocks, blockSize);
        type.requireHeadDim(config.headDim());
    }

    public PagedKvCache(int layers, int kvDim, KvCacheType type, int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0 || (long) numBlocks * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KV cache of " + numBlocks + " blocks of " + blockSize
                    + " tokens is out of range");
        }
        this.type = type;
        this.layers = layers;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.kvDim = kvDim;
        this.vectorBytes = type.bytesPerVector(kvDim);
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
            throw new IllegalStateException("cannot allocate a KV cache of " + bytes(layers, kvDim, type, numBlocks,
                    blockSize) + " bytes: " + e.getMessage(), e);
        }
    }

    /** Bytes a cache of this shape takes. */
    public static long bytes(int layers, int kvDim, KvCacheType type, int numBlocks, int blockSize) {
        return type.bytesPerToken(layers, kvDim) * blockSize * numBlocks;
    }

    /** How many blocks fit in a memory budget. */
    public static int blocksForBudget(ModelConfig config, KvCacheType type, int blockSize, long budgetBytes) {
        long perBlock = type.bytesPerToken(config.layers(), config.kvDim()) * blockSize;
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
        write(keys[layer], base, k, kOffset);
        write(values[layer], base, v, vOffset);
    }

    private void write(MemorySegment seg, long base, float[] x, int off) {
        switch (type) {
            case F32 -> MemorySegment.copy(x, off, seg, FLOAT, base, kvDim);
            case F16 -> {
                for (int i = 0; i < kvDim; i++) {
                    seg.set(SHORT, base + 2L * i, Float.floatToFloat16(x[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < kvDim; i++) {
                    seg.set(SHORT, base + 2L * i, BFloat16.fromFloat(x[off + i]));
                }
            }
            case Q8_0 -> Q8_0_CODEC.quantizeRow(x, off, kvDim, seg, base);
        }
    }

    @Override
    public void readKey(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        read(keys[layer], slot, kvOffset, dst, dstOffset, n);
    }

    @Override
    public void readValue(int layer, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        read(values[layer], slot, kvOffset, dst, dstOffset, n);
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
                type.bytesPerVector(kvOffset), slots, from, len, headDim);
    }

    /** n stored values of a slot from kvOffset, widened eight at a time, the tail one by one. */
    private void read(MemorySegment seg, int slot, int kvOffset, float[] dst, int dstOffset, int n) {
        long at = slot * vectorBytes + type.bytesPerVector(kvOffset);
        int i = 0;
        switch (type) {
            case F32 -> {
                for (; i + 8 <= n; i += 8) {
                    floats(seg, at + 4L * i).intoArray(dst, dstOffset + i);
                }
            }
            case F16 -> {
                for (; i + 8 <= n; i += 8) {
                    halves(seg, at + 2L * i).intoArray(dst, dstOffset + i);
                }
            }
            case BF16 -> {
                for (; i + 8 <= n; i += 8) {
                    bf16s(seg, at + 2L * i).intoArray(dst, dstOffset + i);
                }
            }
            case Q8_0 -> {
                // at is a block boundary: attention reads whole heads, and heads fill whole blocks
                for (; i + 32 <= n; i += 32) {
                    long block = at + 34L * (i / 32);
                    float d = Float.float16ToFloat(seg.get(SHORT, block));
                    for (int j = 0; j < 32; j += 8) {
                        signedBytes(seg, block + 2 + j).mul(d).intoArray(dst, dstOffset + i + j);
                    }
                }
            }
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = load(seg, at, i);
        }
    }

    // The cache is read only through IntVector loads, which no weight kernel uses: the Vector API's
    // load code is shared by all callers of one vector class, and reading the cache's native
    // segments with the same class the kernels use on mapped weight segments made that code see two
    // segment classes and compile the F16 weight kernel's loads worse (F16 decode was slower).

    /** Eight floats. */
    private static FloatVector floats(MemorySegment seg, long at) {
        return IntVector.fromMemorySegment(IntVector.SPECIES_256, seg, at, ORDER).reinterpretAsFloats();
    }

    /**
     * Eight halves widened to floats with integer operations (the Vector API has no conversion):
     * as in the F16 weight kernel, shifting the sign-extended bits left by 13 and multiplying by
     * 2^112 rebiases the exponent, subnormals included. Infinities and NaNs, which a cache of finite
     * activations does not hold, would come out as large finite values.
     */
    private static FloatVector halves(MemorySegment seg, long at) {
        return ((IntVector) shorts(seg, at).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0))
                .lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
    }

    /** Eight bfloat16 values widened to floats: each is the upper half of its float. */
    private static FloatVector bf16s(MemorySegment seg, long at) {
        return ((IntVector) shorts(seg, at).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Eight signed bytes widened to floats. */
    private static FloatVector signedBytes(MemorySegment seg, long at) {
        return (FloatVector) IntVector.fromMemorySegment(IntVector.SPECIES_64, seg, at, ORDER).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F, 0);
    }

    /** Eight 16-bit values. */
    private static ShortVector shorts(MemorySegment seg, long at) {
        return IntVector.fromMemorySegment(IntVector.SPECIES_128, seg, at, ORDER).reinterpretAsShorts();
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
        return load(keys[layer], slot * vectorBytes, i);
    }

    public float value(int layer, int slot, int i) {
        return load(values[layer], slot * vectorBytes, i);
    }

    private float load(MemorySegment seg, long base, int i) {
        return switch (type) {
            case F32 -> seg.get(FLOAT, base + 4L * i);
            case F16 -> Float.float16ToFloat(seg.get(SHORT, base + 2L * i));
            case BF16 -> BFloat16.toFloat(seg.get(SHORT, base + 2L * i));
            case Q8_0 -> {
                long block = base + 34L * (i / 32);
                yield Float.float16ToFloat(seg.get(SHORT, block)) * seg.get(ValueLayout.JAVA_BYTE, block + 2 + i % 32);
            }
        };
    }

    @Override
    public void close() {
        arena.close();
    }
}
