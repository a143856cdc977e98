package io.tessera.engine;

import io.tessera.core.forward.ForwardBatch;
import io.tessera.engine.executor.StepResult;
import io.tessera.engine.scheduler.ScheduledStep;
import io.tessera.engine.scheduler.Sequence;
import java.util.concurrent.CompletableFuture;

/**
 * An embedding request inside the engine: the owner of its one sequence, pooling the hidden rows
 * its chunks return until the chunk that reaches the last token.
 */
final class EmbeddingJob {

    final EmbeddingRequest request;
    final CompletableFuture<Embedding> result;
    Sequence seq;
    private final double[] sum;
    private float[] last;

    EmbeddingJob(EmbeddingRequest request, CompletableFuture<Embedding> result, int dim) {
        this.request = request;
        this.result = result;
        this.sum = request.pooling() == Pooling.MEAN ? new double[dim] : null;
    }

    /** The hidden states a chunk asks for: every token's for a mean, the last token's for LAST. */
    ForwardBatch.Logits hiddenWanted(ScheduledStep.Chunk c) {
        if (request.pooling() == Pooling.MEAN) {
            return ForwardBatch.Logits.ALL;
        }
        return c.sample() ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE;
    }

    /**
     * Takes this chunk's hidden rows from the step result, starting at {@code row}; returns the
     * row after them.
     */
    int absorb(ScheduledStep.Chunk c, StepResult r, int row) {
        int dim = r.hiddenDim();
        float[] h = r.hidden();
        if (request.pooling() == Pooling.MEAN) {
            if (c.start() == 0) {
                // computed from the start again (after a preemption): earlier rows are counted anew
                java.util.Arrays.fill(sum, 0);
            }
            for (int t = 0; t < c.length(); t++) {
                int off = r.hiddenOffset(row + t);
                for (int i = 0; i < dim; i++) {
                    sum[i] += h[off + i];
                }
            }
            return row + c.length();
        }
        if (c.sample()) {
            last = java.util.Arrays.copyOfRange(h, r.hiddenOffset(row), r.hiddenOffset(row) + dim);
            return row + 1;
        }
        return row;
    }

    /** The pooled vector, once the chunk with the last token was absorbed. */
    float[] vector() {
        if (request.pooling() == Pooling.LAST) {
            return last;
        }
        int n = request.tokensUnsafe().length;
        float[] v = new float[sum.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (sum[i] / n);
        }
        return v;
    }

    @Override
    public String toString() {
        return request.id();
    }
}
