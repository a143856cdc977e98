package io.tessera.engine.executor;

import io.tessera.core.forward.ForwardBatch;

/**
 * One step for an executor.
 *
 * @param batch tokens, positions, block tables, and which tokens need logits
 * @param copyFrom blocks to copy before the forward pass (copy-on-write)...
 * @param copyTo ...into these blocks, pairwise
 */
public record StepInput(ForwardBatch batch, int[] copyFrom, int[] copyTo) {

    public StepInput {
        if (copyFrom.length != copyTo.length) {
            throw new IllegalArgumentException("block copies need as many sources as destinations");
        }
    }
}
