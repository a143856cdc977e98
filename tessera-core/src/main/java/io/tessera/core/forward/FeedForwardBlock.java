package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.ModelConfig;

/**
 * The shared gated feed-forward block: {@code h = rmsnorm(x)}, {@code g = act(h·Wgate) ⊙ h·Wup}
 * over this rank's FFN rows, {@code proj = g · Wdown} over the same columns (a partial sum on a
 * tensor-parallel rank, which the caller all-reduces).
 */
final class FeedForwardBlock {

    private final ModelConfig cfg;
    private final Parallel parallel;

    FeedForwardBlock(ModelConfig cfg, Parallel parallel) {
        if (cfg.feedForward() != FeedForwardKind.SWIGLU) {
            throw new UnsupportedOperationException("feed-forward '" + cfg.feedForward() + "' of architecture '"
                    + cfg.architecture() + "' is not implemented yet");
        }
        this.cfg = cfg;
        this.parallel = parallel;
    }

    /** Leaves the block's result for the {@code n} tokens of {@code x} in {@code b.proj}. */
    void run(FeedForwardWeights w, float[] x, int n, StepBuffers b) {
        int dim = cfg.dim();
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(b.h, t * dim, x, t * dim, w.norm(), dim, cfg.rmsEps());
        }
        MatMul.swiGlu(parallel, w.gate(), w.up(), b.h, n, b.gate, b.up);
        MatMul.matmul(parallel, w.down(), b.gate, n, b.proj);
    }
}
