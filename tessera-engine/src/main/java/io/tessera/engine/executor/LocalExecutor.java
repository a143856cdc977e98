package io.tessera.engine.executor;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.engine.kv.BlockContents;
import io.tessera.engine.kv.KvOffload;
import io.tessera.engine.kv.KvOffloadConfig;
import java.lang.foreign.MemorySegment;

/**
 * Runs the model in this process: {@link DecoderForward} over an off-heap {@link PagedKvCache} it owns.
 * Closing it frees the cache and its offload tiers (not the model, which the caller owns).
 */
public final class LocalExecutor implements Executor {

    private final Model model;
    private final DecoderForward forward;
    private final PagedKvCache cache;
    private final int threads;
    private final KvOffload offload;

    public LocalExecutor(Model model, Parallel parallel, KvCacheType type, int blockSize, int numBlocks) {
        this(model, parallel, type, blockSize, numBlocks, KvOffloadConfig.NONE);
    }

    /** With tiers below the cache for evicted prefix blocks, as {@code offload} asks. */
    public LocalExecutor(Model model, Parallel parallel, KvCacheType type, int blockSize, int numBlocks,
            KvOffloadConfig offload) {
        this.model = model;
        this.forward = new DecoderForward(model, parallel);
        this.cache = new PagedKvCache(model.config(), type, numBlocks, blockSize);
        this.threads = parallel.threads();
        try {
            this.offload = KvOffload.open(offload, new CacheBlocks(cache));
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
    }

    /** The block contents of the cache, for the offload tiers. */
    private record CacheBlocks(PagedKvCache cache) implements BlockContents {
        @Override
        public long bytes() {
            return cache.blockContentBytes();
        }

        @Override
        public void read(int block, MemorySegment dst) {
            cache.readBlock(block, dst);
        }

        @Override
        public void write(int block, MemorySegment src) {
            cache.writeBlock(block, src);
        }
    }

    /**
     * A local executor whose cache takes {@code budgetBytes}.
     *
     * @throws IllegalArgumentException when the budget does not hold one block
     */
    public static LocalExecutor withBudget(Model model, Parallel parallel, KvCacheType type, int blockSize,
            long budgetBytes) {
        return withBudget(model, parallel, type, blockSize, budgetBytes, KvOffloadConfig.NONE);
    }

    /** The same with offload tiers below the cache. */
    public static LocalExecutor withBudget(Model model, Parallel parallel, KvCacheType type, int blockSize,
            long budgetBytes, KvOffloadConfig offload) {
        int blocks = PagedKvCache.blocksForBudget(model.config(), type, blockSize, budgetBytes);
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache budget of " + budgetBytes + " bytes holds no block of "
                    + blockSize + " tokens (" + type.bytesPerToken(model.config().layers(), model.config().kvHeads(),
                    model.config().headDim())
                    * blockSize + " bytes each)");
        }
        return new LocalExecutor(model, parallel, type, blockSize, blocks, offload);
    }

    public Model model() {
        return model;
    }

    public PagedKvCache cache() {
        return cache;
    }

    @Override
    public ModelConfig modelConfig() {
        return model.config();
    }

    @Override
    public int blockSize() {
        return cache.blockSize();
    }

    @Override
    public int numBlocks() {
        return cache.numBlocks();
    }

    @Override
    public long blockBytes() {
        return cache.byteSize() / cache.numBlocks();
    }

    @Override
    public StepResult execute(StepInput input) {
        for (int i = 0; i < input.copyFrom().length; i++) {
            cache.copyBlock(input.copyFrom()[i], input.copyTo()[i]);
        }
        ForwardBatch batch = input.batch();
        int dim = model.config().dim();
        float[] hidden = batch.hiddenCount() == 0 ? null : new float[batch.hiddenCount() * dim];
        float[] logits = forward.forward(batch, cache, null, hidden);
        return new StepResult(logits, batch.logitCount(), model.config().vocabSize(), hidden, dim);
    }

    @Override
    public boolean returnsHiddenStates() {
        return true;
    }

    @Override
    public KvOffload kvOffload() {
        return offload;
    }

    @Override
    public KvBlockIo kvBlocks() {
        return new KvBlockIo() {
            @Override
            public String layout() {
                return cache.type().name().toLowerCase(java.util.Locale.ROOT) + " layers=" + cache.layers()
                        + " kvDim=" + cache.kvDim() + " block=" + cache.blockSize();
            }

            @Override
            public int layers() {
                return cache.layers();
            }

            @Override
            public int blockLayerBytes() {
                return Math.toIntExact(cache.blockLayerBytes());
            }

            @Override
            public void readBlockLayer(int layer, int block, byte[] dst, int offset) {
                cache.readBlockLayer(layer, block, dst, offset);
            }

            @Override
            public void writeBlockLayer(int layer, int block, byte[] src, int offset) {
                cache.writeBlockLayer(layer, block, src, offset);
            }
        };
    }

    @Override
    public String describe() {
        return "local, " + threads + " threads, KV " + cache.type().name().toLowerCase(java.util.Locale.ROOT) + " "
                + cache.numBlocks() + " blocks × " + cache.blockSize() + " tokens (" + cache.byteSize() / (1 << 20)
                + " MiB)" + (offload == null ? "" : "; " + offload.describe());
    }

    @Override
    public void close() {
        try {
            if (offload != null) {
                offload.close();
            }
        } finally {
            cache.close();
        }
    }
}
