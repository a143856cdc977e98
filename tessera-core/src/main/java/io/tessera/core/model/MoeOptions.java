package io.tessera.core.model;

/**
 * The mixture-of-experts feed-forward of a model, or {@link #NONE} for a dense one. Each token's
 * router logits ({@code ffn_gate_inp}) become probabilities by {@link #gating}; the
 * {@code expertsUsed} most probable experts run on the token and their outputs are added, each
 * times its probability (renormalised over the chosen ones when {@link #normalizeTopK}, then times
 * {@link #weightsScale}). A shared expert, when there is one, runs on every token and is added too,
 * gated by {@code sigmoid(h · ffn_gate_inp_shexp)} when {@link #sharedExpertGate} (Qwen 2 MoE).
 *
 * @param experts experts per layer ({@code <arch>.expert_count}); 0 for a dense model
 * @param expertsUsed experts each token runs on ({@code expert_used_count})
 * @param expertHiddenDim each expert's feed-forward width ({@code expert_feed_forward_length})
 * @param sharedHiddenDim the shared expert's width ({@code expert_shared_feed_forward_length}); 0 for none
 * @param sharedExpertGate whether the shared expert's output is gated per token (Qwen 2 MoE)
 * @param gating softmax or sigmoid ({@code expert_gating_func})
 * @param normalizeTopK whether the chosen experts' weights are divided by their sum ({@code expert_weights_norm})
 * @param weightsScale the factor of the chosen experts' weights ({@code expert_weights_scale}); 1 for none
 * @param leadingDenseLayers how many first layers have a dense feed-forward block of the model's
 *     {@code hiddenDim} instead ({@code leading_dense_block_count})
 */
public record MoeOptions(int experts, int expertsUsed, int expertHiddenDim, int sharedHiddenDim,
        boolean sharedExpertGate, ExpertGating gating, boolean normalizeTopK, float weightsScale,
        int leadingDenseLayers) {

    /** A dense model. */
    public static final MoeOptions NONE = new MoeOptions(0, 0, 0, 0, false, ExpertGating.SOFTMAX, false, 1f, 0);

    public MoeOptions {
        if (experts < 0 || experts == 1) {
            throw new IllegalArgumentException("expert count must be 0 (dense) or at least 2, got " + experts);
        }
        if (experts > 0 && (expertsUsed <= 0 || expertsUsed > experts)) {
            throw new IllegalArgumentException("experts used per token must be in 1.." + experts + ", got "
                    + expertsUsed);
        }
        if (experts > 0 && expertHiddenDim <= 0) {
            throw new IllegalArgumentException("expert feed-forward length must be positive, got " + expertHiddenDim);
        }
        if (sharedHiddenDim < 0 || sharedExpertGate && sharedHiddenDim == 0) {
            throw new IllegalArgumentException("shared expert feed-forward length must be 0 (none) or positive"
                    + " (and positive when the shared expert is gated), got " + sharedHiddenDim);
        }
        if (gating == null) {
            throw new IllegalArgumentException("expert gating function must be given");
        }
        if (!(weightsScale > 0) || !Float.isFinite(weightsScale)) {
            throw new IllegalArgumentException("expert weights scale must be positive, got " + weightsScale);
        }
        if (leadingDenseLayers < 0) {
            throw new IllegalArgumentException("leading dense block count must not be negative, got "
                    + leadingDenseLayers);
        }
    }

    /**
     * Experts chosen by softmax, with {@code normalizeTopK} as the family fixes it, no shared expert,
     * no scale, every layer sparse.
     */
    public static MoeOptions of(int experts, int used, int expertHiddenDim, boolean normalizeTopK) {
        return new MoeOptions(experts, used, expertHiddenDim, 0, false, ExpertGating.SOFTMAX, normalizeTopK, 1f, 0);
    }

    /** Whether the model has experts at all. */
    public boolean enabled() {
        return experts > 0;
    }

    /** Whether layer {@code layer} (of the whole model) has the mixture-of-experts block. */
    public boolean sparse(int layer) {
        return enabled() && layer >= leadingDenseLayers;
    }

    public MoeOptions withSharedExpert(int hidden, boolean gated) {
        return new MoeOptions(experts, expertsUsed, expertHiddenDim, hidden, gated, gating, normalizeTopK,
                weightsScale, leadingDenseLayers);
    }

    public MoeOptions withGating(ExpertGating g) {
        return new MoeOptions(experts, expertsUsed, expertHiddenDim, sharedHiddenDim, sharedExpertGate, g,
                normalizeTopK, weightsScale, leadingDenseLayers);
    }

    public MoeOptions withNormalizeTopK(boolean on) {
        return new MoeOptions(experts, expertsUsed, expertHiddenDim, sharedHiddenDim, sharedExpertGate, gating, on,
                weightsScale, leadingDenseLayers);
    }

    public MoeOptions withWeightsScale(float scale) {
        return new MoeOptions(experts, expertsUsed, expertHiddenDim, sharedHiddenDim, sharedExpertGate, gating,
                normalizeTopK, scale, leadingDenseLayers);
    }

    public MoeOptions withLeadingDenseLayers(int n) {
        return new MoeOptions(experts, expertsUsed, expertHiddenDim, sharedHiddenDim, sharedExpertGate, gating,
                normalizeTopK, weightsScale, n);
    }

    /** Weights of the matrices of one sparse layer: router, every expert, the shared expert. */
    public long layerWeights(int dim) {
        return (long) experts * dim + 3L * experts * dim * expertHiddenDim + 3L * dim * sharedHiddenDim
                + (sharedExpertGate ? dim : 0);
    }

    /** Weights of one sparse layer a token multiplies: router, its experts, the shared expert. */
    public long activeLayerWeights(int dim) {
        return (long) experts * dim + 3L * expertsUsed * dim * expertHiddenDim + 3L * dim * sharedHiddenDim
                + (sharedExpertGate ? dim : 0);
    }
}
