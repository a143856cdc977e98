package io.tessera.engine.executor;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;

/**
 * Runs the model in this process: {@link DecoderForward} over an off-heap {@link PagedKvCache} it owns.
 * Closing it frees the cache (not the model, which the caller owns).
 */
public final class LocalExecutor implements Executor {

    private final Model model;
    private final DecoderForward forward;
    private final PagedKvCache cache;
    private final int threads;

    public LocalExecutor(Model model, Parallel parallel, KvCacheType type, int blockSize, int numBlocks) {
        this.model = model;
        this.forward = new DecoderForward(model, parallel);
        this.cache = new PagedKvCache(model.config(), type, numBlocks, blockSize);
        this.threads = parallel.threads();
    }

    /**
     * A local executor whose cache takes {@code budgetBytes}.
     *
     * @throws IllegalArgumentException when the budget does not hold one block
     */
    public static LocalExecutor withBudget(Model model, Parallel parallel, KvCacheType type, int blockSize,
            long budgetBytes) {
        int blocks = PagedKvCache.blocksForBudget(model.config(), type, blockSize, budgetBytes);
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache budget of " + budgetBytes + " bytes holds no block of "
                    + blockSize + " tokens (" + type.bytesPerToken(model.config().layers(), model.config().kvDim())
                    * blockSize + " bytes each)");
        }
        return new LocalExecutor(model, parallel, type, blockSize, blocks);
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
        float[] logits = forward.forward(input.batch(), cache);
        return new StepResult(logits, input.batch().logitCount(), model.config().vocabSize());
    }

    @Override
    public String describe() {
        return "local, " + threads + " threads, KV " + cache.type().name().toLowerCase(java.util.Locale.ROOT) + " "
                + cache.numBlocks() + " blocks × " + cache.blockSize() + " tokens (" + cache.byteSize() / (1 << 20)
                + " MiB)";
    }

    @Override
    public void close() {
        cache.close();
    }
}
