package io.tessera.engine.executor;

import io.tessera.core.forward.ForwardBatch;
import io.tessera.engine.connector.KvLayerSink;

/**
 * One step for an executor.
 *
 * @param batch tokens, positions, block tables, and which tokens need logits
 * @param copyFrom blocks to copy before the forward pass (copy-on-write)...
 * @param copyTo ...into these blocks, pairwise
 * @param layerSink told after each layer's keys and values are stored (a KV connector that pushes
 *     them as they are computed), or null; an executor that cannot tell it refuses such a step
 */
public record StepInput(ForwardBatch batch, int[] copyFrom, int[] copyTo, KvLayerSink layerSink) {

    public StepInput(ForwardBatch batch, int[] copyFrom, int[] copyTo) {
        this(batch, copyFrom, copyTo, null);
    }

    public StepInput {
        if (copyFrom.length != copyTo.length) {
            throw new IllegalArgumentException("block copies need as many sources as destinations");
        }
    }
}
