package io.tessera.engine.executor;

import io.tessera.core.model.ModelConfig;
import io.tessera.engine.kv.KvOffload;

/**
 * Runs the model for the engine, one step at a time. The executor owns the KV cache memory (a
 * distributed executor keeps each worker's share of heads or layers on that worker); the engine
 * only hands out block ids. A step is a ragged batch plus the block copies to make before it.
 *
 * <p>Called from the engine's one thread; implementations need not be thread-safe.
 */
public interface Executor extends AutoCloseable {

    /** Shape of the model being run (vocabulary, context length, layers...). */
    ModelConfig modelConfig();

    /** Tokens per KV block. */
    int blockSize();

    /** KV blocks the executor's cache holds (on every worker alike). */
    int numBlocks();

    /** Bytes of KV cache per block, all layers and workers together (for reports). */
    long blockBytes();

    /**
     * Applies the block copies, then runs the forward pass; returns one logits row per token the
     * batch asks logits for, in that order.
     */
    StepResult execute(StepInput input);

    /**
     * Whether {@link #execute} returns the final hidden states a batch asks for (embeddings); an
     * executor that cannot leaves them out, and the engine refuses embedding requests.
     */
    default boolean returnsHiddenStates() {
        return false;
    }

    /**
     * Changes whenever the KV memory behind the executor was lost (a distributed executor whose
     * workers were re-planned after a failure). The engine then ends every request in flight with an
     * error and forgets its prefix cache, since no block holds what it held before.
     */
    default long cacheEpoch() {
        return 0;
    }

    /**
     * The tiers below this executor's KV pool that keep evicted prefix blocks (they copy block
     * contents out of the cache and back in), or null when it has none. The engine attaches them to
     * its block manager when prefix caching is on.
     */
    default KvOffload kvOffload() {
        return null;
    }

    /**
     * Null while the executor can run steps; else why not (e.g. "cluster degraded: worker 1 ... lost"),
     * for the server's {@code /health}.
     */
    default String health() {
        return null;
    }

    /**
     * Block-level access to the KV cache for a KV connector (prefill/decode disaggregation), or
     * null when this executor cannot give it (a distributed executor keeps the cache on its workers).
     */
    default KvBlockIo kvBlocks() {
        return null;
    }

    /**
     * Tokens routed to each expert of each layer since the executor started ([layer][expert], every
     * layer of the model, dense ones all 0), or null for a model without experts (or when the
     * workers cannot be asked). Safe to call from another thread than the engine's.
     */
    default long[][] expertLoad() {
        return null;
    }

    /** One line for logs and reports, e.g. "local, 2 threads, KV f16 1024 blocks × 16". */
    String describe();

    @Override
    void close();
}
