package io.tessera.core.forward;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.kernel.VectorMath;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.ExpertWeights;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.MoeWeights;
import io.tessera.core.shard.ExpertExchange;
import io.tessera.core.shard.ExpertPlacement;

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
 *
 * <p>Under expert parallelism ({@link ExpertExchange}) the rank holds only some experts: the rows
 * of its tokens' other (token, expert) pairs are dispatched to the ranks holding those experts (one
 * message per peer), each rank runs its experts over its own and the received rows alike, and the
 * outputs go back (one message per peer) to the token's home rank, which adds them in ascending
 * expert order as above. The expert computes the same bits for a row wherever it runs, so the
 * result is that of one process.
 */
final class MoeFeedForwardBlock {

    private final ModelConfig cfg;
    private final MoeOptions moe;
    private final Parallel parallel;
    /** The expert-parallel group, or null when every expert is here. */
    private final ExpertExchange exchange;
    private final ExpertLoad load;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private long exchangeNanos;
    private long remoteRows;
    private long computedRows;

    MoeFeedForwardBlock(ModelConfig cfg, Parallel parallel, ExpertExchange exchange) {
        this.cfg = cfg;
        this.moe = cfg.moe();
        this.parallel = parallel;
        this.exchange = exchange;
        this.load = new ExpertLoad(cfg.layers(), moe.experts());
    }

    ExpertLoad load() {
        return load;
    }

    /** Nanoseconds spent in the expert-parallel exchanges (waiting for peers included). */
    long exchangeNanos() {
        return exchangeNanos;
    }

    /** (token, expert) rows this rank's experts computed, its own and those other ranks sent. */
    long computedRows() {
        return computedRows;
    }

    /** (token, expert) rows this rank dispatched to other ranks. */
    long remoteRows() {
        return remoteRows;
    }

    /**
     * Leaves the block's result for the {@code n} tokens of {@code x} in {@code b.proj}, using
     * {@code b.h}; {@code layer} is the model's layer index. With {@code n == 0} the rank only takes
     * part in the exchanges of its expert-parallel group.
     */
    void run(int layer, MoeWeights w, float[] x, int n, StepBuffers b) {
        int dim = cfg.dim();
        int experts = moe.experts();
        int k = moe.expertsUsed();
        int slots = n * k;
        Scratch s = scratch.get().ensure(n, dim, experts, k, exchange != null);
        float[] h = b.h;
        for (int t = 0; t < n; t++) {
            VectorMath.rmsNorm(h, t * dim, x, t * dim, w.norm(), dim, cfg.rmsEps());
        }
        if (n > 0) {
            MatMul.matmul(parallel, w.router(), h, n, s.probs);
        }
        for (int t = 0; t < n; t++) {
            route(s, t);
        }
        java.util.Arrays.fill(s.start, 0, experts + 1, 0);
        for (int i = 0; i < slots; i++) {
            s.start[s.chosen[i] + 1]++;
        }
        for (int e = 0; e < experts; e++) {
            load.add(layer, e, s.start[e + 1]);
        }
        int me = exchange == null ? 0 : exchange.rank();
        int ranks = exchange == null ? 1 : exchange.ranks();
        ExpertPlacement placement = exchange == null ? null : exchange.placement();
        for (int i = 0; i < slots; i++) {
            s.dest[i] = placement == null ? 0 : placement.target(layer, s.chosen[i], me, i / k);
        }
        ExpertExchange.Parcel[] received = new ExpertExchange.Parcel[ranks];
        if (exchange != null) {
            ExpertExchange.Parcel[] out = new ExpertExchange.Parcel[ranks];
            for (int q = 0; q < ranks; q++) {
                if (q != me) {
                    out[q] = gatherFor(q, h, slots, k, s);
                    remoteRows += out[q].rows();
                }
            }
            long t0 = System.nanoTime();
            received = exchange.exchange(out, true);
            exchangeNanos += System.nanoTime() - t0;
        }
        // the rows to compute here: this rank's own pairs, then each peer's in rank order
        int items = 0;
        for (int i = 0; i < slots; i++) {
            items += s.dest[i] == me ? 1 : 0;
        }
        for (int q = 0; q < ranks; q++) {
            items += q == me ? 0 : received[q].rows();
        }
        computedRows += items;
        s.ensureItems(items);
        int j = 0;
        for (int i = 0; i < slots; i++) {
            if (s.dest[i] == me) {
                s.itemSource[j] = -1;
                s.itemIndex[j] = i;
                s.itemExpert[j++] = s.chosen[i];
            }
        }
        for (int q = 0; q < ranks; q++) {
            for (int r = 0; q != me && r < received[q].rows(); r++) {
                int e = received[q].experts()[r];
                if (e < 0 || e >= experts || !placement.holds(layer, e, me)) {
                    throw new IllegalStateException("rank " + q + " sent a row for expert " + e + " of layer " + layer
                            + ", which rank " + me + " does not hold");
                }
                s.itemSource[j] = q;
                s.itemIndex[j] = r;
                s.itemExpert[j++] = e;
            }
        }
        ExpertExchange.Parcel[] replies = new ExpertExchange.Parcel[ranks];
        for (int q = 0; q < ranks; q++) {
            replies[q] = q == me ? null : new ExpertExchange.Parcel(received[q].rows(), null,
                    new float[received[q].rows() * dim]);
        }
        // items of each expert, in item order: counting sort by expert
        java.util.Arrays.fill(s.start, 0, experts + 1, 0);
        for (int i = 0; i < items; i++) {
            s.start[s.itemExpert[i] + 1]++;
        }
        for (int e = 0; e < experts; e++) {
            s.start[e + 1] += s.start[e];
        }
        System.arraycopy(s.start, 0, s.fill, 0, experts);
        for (int i = 0; i < items; i++) {
            s.members[s.fill[s.itemExpert[i]]++] = i;
        }
        // one expert's group, or the shared expert over all n tokens, is the most rows a product takes
        int largest = n;
        for (int e = 0; e < experts; e++) {
            largest = Math.max(largest, s.start[e + 1] - s.start[e]);
        }
        s.ensureRows(largest, dim, Math.max(moe.expertHiddenDim(), moe.sharedHiddenDim()));
        java.util.Arrays.fill(b.proj, 0, n * dim, 0f);
        for (int e = 0; e < experts; e++) {
            int from = s.start[e];
            int m = s.start[e + 1] - from;
            if (m == 0) {
                continue;
            }
            for (int r = 0; r < m; r++) {
                int item = s.members[from + r];
                int src = s.itemSource[item];
                if (src < 0) {
                    System.arraycopy(h, s.itemIndex[item] / k * dim, s.in, r * dim, dim);
                } else {
                    System.arraycopy(received[src].values(), s.itemIndex[item] * dim, s.in, r * dim, dim);
                }
            }
            expert(w.experts().get(e), s.in, m, s);
            for (int r = 0; r < m; r++) {
                int item = s.members[from + r];
                int src = s.itemSource[item];
                int slot = s.itemIndex[item];
                if (exchange == null) {
                    // one process: experts run in ascending order, so each token's outputs are added in that order
                    VectorMath.axpy(b.proj, slot / k * dim, s.weights[slot], s.out, r * dim, dim);
                } else {
                    System.arraycopy(s.out, r * dim, src < 0 ? s.ys : replies[src].values(), slot * dim, dim);
                }
            }
        }
        if (exchange != null) {
            long t0 = System.nanoTime();
            ExpertExchange.Parcel[] back = exchange.exchange(replies, false);
            exchangeNanos += System.nanoTime() - t0;
            for (int q = 0; q < ranks; q++) {
                if (q != me) {
                    scatterFrom(q, back[q], slots, dim, s);
                }
            }
        }
        for (int t = 0; exchange != null && t < n; t++) {
            // a token's expert outputs are added in ascending expert order, as one process adds them
            int base = t * k;
            for (int a = 0; a < k; a++) {
                s.order[a] = base + a;
            }
            for (int a = 1; a < k; a++) {
                for (int c = a; c > 0 && s.chosen[s.order[c]] < s.chosen[s.order[c - 1]]; c--) {
                    int tmp = s.order[c];
                    s.order[c] = s.order[c - 1];
                    s.order[c - 1] = tmp;
                }
            }
            for (int a = 0; a < k; a++) {
                int slot = s.order[a];
                VectorMath.axpy(b.proj, t * dim, s.weights[slot], s.ys, slot * dim, dim);
            }
        }
        if (w.shared() != null && n > 0) {
            expert(w.shared(), h, n, s);
            for (int t = 0; t < n; t++) {
                float g = w.sharedGate() == null ? 1f
                        : VectorMath.sigmoid(VectorMath.dot(h, t * dim, w.sharedGate(), 0, dim));
                VectorMath.axpy(b.proj, t * dim, g, s.out, t * dim, dim);
            }
        }
    }

    /** The rows of this rank's (token, expert) pairs that rank {@code q} computes, in pair order. */
    private static ExpertExchange.Parcel gatherFor(int q, float[] h, int slots, int k, Scratch s) {
        int dim = s.dim;
        int rows = 0;
        for (int i = 0; i < slots; i++) {
            rows += s.dest[i] == q ? 1 : 0;
        }
        if (rows == 0) {
            return ExpertExchange.Parcel.EMPTY;
        }
        int[] experts = new int[rows];
        float[] values = new float[rows * dim];
        int r = 0;
        for (int i = 0; i < slots; i++) {
            if (s.dest[i] == q) {
                experts[r] = s.chosen[i];
                System.arraycopy(h, i / k * dim, values, r * dim, dim);
                r++;
            }
        }
        return new ExpertExchange.Parcel(rows, experts, values);
    }

    /** Puts the outputs rank {@code q} sent back into the rows of the pairs dispatched to it. */
    private static void scatterFrom(int q, ExpertExchange.Parcel back, int slots, int dim, Scratch s) {
        int r = 0;
        for (int i = 0; i < slots; i++) {
            if (s.dest[i] == q) {
                if (r >= back.rows()) {
                    throw new IllegalStateException("rank " + q + " sent back " + back.rows() + " expert rows, fewer "
                            + "than it was sent");
                }
                System.arraycopy(back.values(), r * dim, s.ys, i * dim, dim);
                r++;
            }
        }
        if (r != back.rows()) {
            throw new IllegalStateException("rank " + q + " sent back " + back.rows() + " expert rows for " + r);
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
        int dim;
        float[] probs = new float[0];
        int[] chosen = new int[0];
        float[] weights = new float[0];
        int[] dest = new int[0];
        int[] order = new int[0];
        int[] start = new int[0];
        int[] fill = new int[0];
        /** Under expert parallelism, the output of each of the step's (token, expert) pairs, [n·k, dim]. */
        float[] ys = new float[0];
        int[] itemSource = new int[0];
        int[] itemIndex = new int[0];
        int[] itemExpert = new int[0];
        int[] members = new int[0];
        float[] in = new float[0];
        float[] gate = new float[0];
        float[] up = new float[0];
        float[] out = new float[0];

        Scratch ensure(int n, int dim, int experts, int k, boolean pairOutputs) {
            this.dim = dim;
            if (pairOutputs && ys.length < n * k * dim) {
                ys = new float[n * k * dim];
            }
            if (probs.length < n * experts || chosen.length < n * k || start.length < experts + 1 || order.length < k) {
                probs = new float[n * experts];
                chosen = new int[n * k];
                weights = new float[n * k];
                dest = new int[n * k];
                order = new int[k];
                start = new int[experts + 1];
                fill = new int[experts];
            }
            return this;
        }

        /** Room for {@code items} (token, expert) rows to compute. */
        void ensureItems(int items) {
            if (itemSource.length < items) {
                itemSource = new int[items];
                itemIndex = new int[items];
                itemExpert = new int[items];
                members = new int[items];
            }
        }

        /** Room for a product of {@code rows} rows through an expert of width up to {@code hidden}. */
        void ensureRows(int rows, int dim, int hidden) {
            if (in.length < rows * dim || gate.length < rows * hidden) {
                in = new float[rows * dim];
                gate = new float[rows * hidden];
                up = new float[rows * hidden];
                out = new float[rows * dim];
            }
        }
    }
}
