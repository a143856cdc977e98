package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.ExpertWeights;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.MoeWeights;

/**
 * The mixture-of-experts feed-forward block ({@link MoeOptions}) over a step's tokens, the CPU form
 * of llama.cpp's {@code build_moe_ffn} with {@code mul_mat_id}:
 *
 * <pre>
 *   h = rmsnorm(x);  p = gating(h · Wrouter)                     one row of expert probabilities per token
 *   per token: its k most probable experts (ties: the lower index), weights p[e] (/ their sum) (· scale)
 *   per expert that some token chose: the rows of h of its tokens, gathered in token order, run
 *     through that expert's SwiGLU as one matrix product: y = (silu(hₑ·Wgate) ⊙ hₑ·Wup) · Wdown
 *   proj[t] = Σ over t's experts in ascending index of weight · y[t]     (+ the shared expert's output)
 * </pre>
 *
 * A decode token reads only its k experts' weights. Each expert's product computes a token's row
 * the same way whatever the group's size (the kernels' fixed summation order), a token's experts
 * and weights depend on its own row alone, and its outputs are added in a fixed order: a token's
 * result does not depend on the tokens that share its step.
 */
final class MoeFeedForwardBlock {

    private final ModelConfig cfg;
    private final MoeOptions moe;
    private final Parallel parallel;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    MoeFeedForwardBlock(ModelConfig cfg, Parallel parallel) {
        this.cfg = cfg;
        this.moe = cfg.moe();
        this.parallel = parallel;
    }

    /** Leaves the block's result for the {@code n} tokens of {@code x} in {@code b.proj}, using {@code b.h}. */
    void run(MoeWeights w, float[] x, int n, StepBuffers b) {
        int dim = cfg.dim();
        int experts = moe.experts();
        int k = moe.expertsUsed();
        Scratch s = scratch.get().ensure(n, dim, experts, k, Math.max(moe.expertHiddenDim(), moe.sharedHiddenDim()));
        float[] h = b.h;
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(h, t * dim, x, t * dim, w.norm(), dim, cfg.rmsEps());
        }
        MatMul.matmul(parallel, w.router(), h, n, s.probs);
        for (int t = 0; t < n; t++) {
            route(s, t);
        }
        // tokens of each expert, in token order: counting sort by expert
        java.util.Arrays.fill(s.start, 0, experts + 1, 0);
        for (int i = 0; i < n * k; i++) {
            s.start[s.chosen[i] + 1]++;
        }
        for (int e = 0; e < experts; e++) {
            s.start[e + 1] += s.start[e];
        }
        System.arraycopy(s.start, 0, s.fill, 0, experts);
        for (int i = 0; i < n * k; i++) {
            s.members[s.fill[s.chosen[i]]++] = i; // i = token · k + slot
        }
        java.util.Arrays.fill(b.proj, 0, n * dim, 0f);
        for (int e = 0; e < experts; e++) {
            int from = s.start[e];
            int m = s.start[e + 1] - from;
            if (m == 0) {
                continue;
            }
            for (int j = 0; j < m; j++) {
                System.arraycopy(h, s.members[from + j] / k * dim, s.in, j * dim, dim);
            }
            expert(w.experts().get(e), s.in, m, s);
            for (int j = 0; j < m; j++) {
                int slot = s.members[from + j];
                VectorMath.axpy(b.proj, slot / k * dim, s.weights[slot], s.out, j * dim, dim);
            }
        }
        if (w.shared() != null) {
            expert(w.shared(), h, n, s);
            for (int t = 0; t < n; t++) {
                float g = w.sharedGate() == null ? 1f
                        : VectorMath.sigmoid(VectorMath.dot(h, t * dim, w.sharedGate(), 0, dim));
                VectorMath.axpy(b.proj, t * dim, g, s.out, t * dim, dim);
            }
        }
    }

    /** {@code s.out = (silu(in·Wgate) ⊙ in·Wup) · Wdown} for {@code m} rows of {@code in}. */
    private void expert(ExpertWeights e, float[] in, int m, Scratch s) {
        MatMul.swiGlu(parallel, e.gate(), e.up(), in, m, s.gate, s.up);
        MatMul.matmul(parallel, e.down(), s.gate, m, s.out);
    }

    /**
     * Token t's experts and their weights from its router logits in {@code s.probs}: the gating, the
     * k largest probabilities (the lower index first among equals, in descending order), then the
     * optional renormalisation and scale, as llama.cpp's {@code build_moe_ffn} does.
     */
    private void route(Scratch s, int t) {
        int experts = moe.experts();
        int k = moe.expertsUsed();
        int off = t * experts;
        if (moe.gating() == ExpertGating.SOFTMAX) {
            VectorMath.softmax(s.probs, off, experts);
        } else {
            for (int e = 0; e < experts; e++) {
                s.probs[off + e] = VectorMath.sigmoid(s.probs[off + e]);
            }
        }
        float sum = 0f;
        for (int slot = 0; slot < k; slot++) {
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if (!taken(s.chosen, t * k, slot, e) && (best < 0 || s.probs[off + e] > s.probs[off + best])) {
                    best = e;
                }
            }
            s.chosen[t * k + slot] = best;
            s.weights[t * k + slot] = s.probs[off + best];
            sum += s.probs[off + best];
        }
        for (int slot = 0; slot < k; slot++) {
            float wgt = s.weights[t * k + slot];
            if (moe.normalizeTopK()) {
                // llama.cpp clamps the sum from below by 2^-14 before dividing
                wgt /= Math.max(sum, 6.103515625e-5f);
            }
            s.weights[t * k + slot] = wgt * moe.weightsScale();
        }
    }

    private static boolean taken(int[] chosen, int off, int count, int e) {
        for (int i = 0; i < count; i++) {
            if (chosen[off + i] == e) {
                return true;
            }
        }
        return false;
    }

    /** A step's routing and expert buffers, kept per calling thread and grown to the largest step. */
    private static final class Scratch {
        float[] probs = new float[0];
        int[] chosen = new int[0];
        float[] weights = new float[0];
        int[] start = new int[0];
        int[] fill = new int[0];
        int[] members = new int[0];
        float[] in = new float[0];
        float[] gate = new float[0];
        float[] up = new float[0];
        float[] out = new float[0];

        Scratch ensure(int n, int dim, int experts, int k, int hidden) {
            if (probs.length < n * experts || chosen.length < n * k || in.length < n * dim
                    || gate.length < n * hidden || start.length < experts + 1) {
                probs = new float[n * experts];
                chosen = new int[n * k];
                weights = new float[n * k];
                start = new int[experts + 1];
                fill = new int[experts];
                members = new int[n * k];
                in = new float[n * dim];
                gate = new float[n * hidden];
                up = new float[n * hidden];
                out = new float[n * dim];
            }
            return this;
        }
    }
}
