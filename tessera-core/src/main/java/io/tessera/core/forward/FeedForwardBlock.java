package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.tensor.Tensor;

/**
 * The shared gated feed-forward block: {@code h = rmsnorm(x)}, {@code g = act(h·Wgate) ⊙ h·Wup}
 * over this rank's FFN rows, {@code proj = g · Wdown} over the same columns (a partial sum on a
 * tensor-parallel rank, which the caller all-reduces). The activation is SiLU (SwiGLU, fused into
 * the gate and up products) or GELU (GeGLU, applied after them).
 */
final class FeedForwardBlock {

    private final ModelConfig cfg;
    private final Parallel parallel;

    FeedForwardBlock(ModelConfig cfg, Parallel parallel) {
        this.cfg = cfg;
        this.parallel = parallel;
    }

    /** Leaves the block's result for the {@code n} tokens of {@code x} in {@code b.proj}. */
    void run(FeedForwardWeights w, float[] x, int n, StepBuffers b) {
        int dim = cfg.dim();
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(b.h, t * dim, x, t * dim, w.norm(), dim, cfg.rmsEps());
        }
        if (cfg.feedForward() == FeedForwardKind.SWIGLU) {
            MatMul.swiGlu(parallel, w.gate(), w.up(), b.h, n, b.gate, b.up);
        } else {
            int rows = Math.toIntExact(w.gate().rowCount());
            MatMul.matmul(parallel, new Tensor[] {w.gate(), w.up()}, b.h, n, new float[][] {b.gate, b.up});
            parallel.forRange(n, 1, (from, to) -> VectorMath.geluMul(b.gate, b.up, from * rows, (to - from) * rows));
        }
        MatMul.matmul(parallel, w.down(), b.gate, n, b.proj);
    }
}
