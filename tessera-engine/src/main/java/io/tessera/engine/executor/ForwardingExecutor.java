package io.tessera.engine.executor;

import io.tessera.core.model.ModelConfig;
import io.tessera.engine.kv.KvOffload;

/**
 * An executor that hands every call to another one: the base of a decorator that changes one part
 * (a step that is slowed down, hidden states that are withheld) and leaves the rest as it is.
 * Closing it closes the executor it wraps.
 */
public abstract class ForwardingExecutor implements Executor {

    protected final Executor inner;

    protected ForwardingExecutor(Executor inner) {
        this.inner = inner;
    }

    @Override
    public ModelConfig modelConfig() {
        return inner.modelConfig();
    }

    @Override
    public int blockSize() {
        return inner.blockSize();
    }

    @Override
    public int numBlocks() {
        return inner.numBlocks();
    }

    @Override
    public long blockBytes() {
        return inner.blockBytes();
    }

    @Override
    public StepResult execute(StepInput input) {
        return inner.execute(input);
    }

    @Override
    public boolean returnsHiddenStates() {
        return inner.returnsHiddenStates();
    }

    @Override
    public long cacheEpoch() {
        return inner.cacheEpoch();
    }

    @Override
    public KvOffload kvOffload() {
        return inner.kvOffload();
    }

    @Override
    public String health() {
        return inner.health();
    }

    @Override
    public KvBlockIo kvBlocks() {
        return inner.kvBlocks();
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public void close() {
        inner.close();
    }
}
