package io.tessera.core.model;

/**
 * The options of the shared attention block a family chooses.
 *
 * @param qkvBias whether the Q, K and V projections add a bias (Qwen 2)
 * @param qkNorm whether each head's query and key are RMS-normalised, with weights of one head's
 *     width, before the rotary embedding (Qwen 3, Gemma 3)
 * @param slidingWindow how many positions back a token sees (itself included) in a local layer;
 *     0 for the whole context in every layer
 * @param slidingWindowPattern which layers are local: with 0 every layer is (Mistral 0.1), with
 *     {@code n} every layer but each {@code n}-th ({@code (layer + 1) % n == 0}) is (Gemma 3: 6,
 *     llama.cpp's {@code set_swa_pattern})
 * @param localRopeTheta the rotary frequency base of the local layers, which also take no rope
 *     scaling (Gemma 3's {@code rope_local_base_freq}); 0 for the model's own base and scaling
 * @param scoreScale the factor of the attention scores {@code q·k}; 0 for {@code 1/√headDim}
 *     (Gemma 3 27B: {@code 1/√query_pre_attn_scalar})
 * @param logitSoftcap soft-capping of the attention scores ({@code cap · tanh(s / cap)}); 0 for none
 * @param rotaryDim how many leading dimensions of each head the rotary embedding turns (Hugging
 *     Face's {@code head_dim · partial_rotary_factor}, GGUF's {@code rope.dimension_count}: 96 of
 *     128 in Phi-4-mini); 0 for the whole head
 * @param qkNormOverProjection with {@code qkNorm}: each token's whole query and whole key projection
 *     is RMS-normalised at once, with weights of the projection's width, rather than head by head
 *     (OLMoE)
 */
public record AttentionOptions(boolean qkvBias, boolean qkNorm, int slidingWindow, int slidingWindowPattern,
        float localRopeTheta, float scoreScale, float logitSoftcap, int rotaryDim, boolean qkNormOverProjection) {

    /** Plain attention, as in Llama. */
    public static final AttentionOptions NONE = new AttentionOptions(false, false, 0, 0f);

    public AttentionOptions {
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding window must be 0 (none) or positive, got " + slidingWindow);
        }
        if (slidingWindowPattern < 0) {
            throw new IllegalArgumentException("sliding window pattern must be 0 (every layer) or positive, got "
                    + slidingWindowPattern);
        }
        if (!(localRopeTheta >= 0) || !Float.isFinite(localRopeTheta)) {
            throw new IllegalArgumentException("local rope frequency base must be 0 (none) or positive, got "
                    + localRopeTheta);
        }
        if (!(scoreScale >= 0) || !Float.isFinite(scoreScale)) {
            throw new IllegalArgumentException("attention score scale must be 0 (1/sqrt(head dim)) or positive, got "
                    + scoreScale);
        }
        if (!(logitSoftcap >= 0) || !Float.isFinite(logitSoftcap)) {
            throw new IllegalArgumentException("attention logit soft-cap must be 0 (none) or positive, got "
                    + logitSoftcap);
        }
        if (rotaryDim < 0 || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dimension count must be 0 (whole head) or positive and even, got "
                    + rotaryDim);
        }
    }

    /** Options normalising Q and K head by head (when at all). */
    public AttentionOptions(boolean qkvBias, boolean qkNorm, int slidingWindow, int slidingWindowPattern,
            float localRopeTheta, float scoreScale, float logitSoftcap, int rotaryDim) {
        this(qkvBias, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale, logitSoftcap, rotaryDim,
                false);
    }

    /** Options rotating the whole head. */
    public AttentionOptions(boolean qkvBias, boolean qkNorm, int slidingWindow, int slidingWindowPattern,
            float localRopeTheta, float scoreScale, float logitSoftcap) {
        this(qkvBias, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale, logitSoftcap, 0);
    }

    /** Options without a layer pattern, local rope base or score scale of their own. */
    public AttentionOptions(boolean qkvBias, boolean qkNorm, int slidingWindow, float logitSoftcap) {
        this(qkvBias, qkNorm, slidingWindow, 0, 0f, 0f, logitSoftcap);
    }

    /** Whether layer {@code layer} (counted over the whole model) attends within the sliding window. */
    public boolean isLocal(int layer) {
        return slidingWindow > 0 && (slidingWindowPattern == 0 || (layer + 1) % slidingWindowPattern != 0);
    }

    /**
     * The {@link #slidingWindowPattern} a list of per-layer flags (true: local) implies: 0 when every
     * layer is local, else one more than the first global layer (1 when none is local). Whether the
     * flags follow that period is {@link #firstLayerOffPattern}'s answer.
     */
    public static int patternOf(boolean[] local) {
        for (int l = 0; l < local.length; l++) {
            if (!local[l]) {
                return l + 1;
            }
        }
        return 0;
    }

    /**
     * The first layer whose flag (true: local) differs from what {@code pattern} makes it, as
     * llama.cpp's {@code set_swa_pattern} expands a period; -1 when none does.
     */
    public static int firstLayerOffPattern(boolean[] local, int pattern) {
        for (int l = 0; l < local.length; l++) {
            if (local[l] != (pattern == 0 || (l + 1) % pattern != 0)) {
                return l;
            }
        }
        return -1;
    }

    /** The window of layer {@code layer}: {@link #slidingWindow} in a local layer, 0 (all positions) in a global one. */
    public int windowOf(int layer) {
        return isLocal(layer) ? slidingWindow : 0;
    }

    /** The factor of the attention scores for heads of {@code headDim}. */
    public float scoreScale(int headDim) {
        return scoreScale > 0 ? scoreScale : (float) (1.0 / Math.sqrt(headDim));
    }

    public AttentionOptions withQkvBias(boolean on) {
        return new AttentionOptions(on, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale,
                logitSoftcap, rotaryDim, qkNormOverProjection);
    }

    /** Q/K norm over each token's whole projection (OLMoE) rather than per head. */
    public AttentionOptions withQkNormOverProjection() {
        return new AttentionOptions(qkvBias, true, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale,
                logitSoftcap, rotaryDim, true);
    }

    /** The width of the Q (or K) norm weights: a head's, or the whole projection's ({@code projection} values). */
    public int qkNormWidth(int headDim, int projection) {
        return qkNormOverProjection ? projection : headDim;
    }

    public AttentionOptions withQkNorm(boolean on) {
        return new AttentionOptions(qkvBias, on, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale,
                logitSoftcap, rotaryDim, qkNormOverProjection);
    }

    public AttentionOptions withSlidingWindow(int window) {
        return new AttentionOptions(qkvBias, qkNorm, window, slidingWindowPattern, localRopeTheta, scoreScale,
                logitSoftcap, rotaryDim, qkNormOverProjection);
    }

    /** Local layers with their own rotary base: every layer but each {@code pattern}-th, rotated with {@code theta}. */
    public AttentionOptions withLocalLayers(int pattern, float theta) {
        return new AttentionOptions(qkvBias, qkNorm, slidingWindow, pattern, theta, scoreScale, logitSoftcap, rotaryDim,
                qkNormOverProjection);
    }

    public AttentionOptions withScoreScale(float scale) {
        return new AttentionOptions(qkvBias, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scale,
                logitSoftcap, rotaryDim, qkNormOverProjection);
    }

    /** Rotary embedding on the first {@code dim} dimensions of each head only (0: the whole head). */
    public AttentionOptions withRotaryDim(int dim) {
        return new AttentionOptions(qkvBias, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale,
                logitSoftcap, dim, qkNormOverProjection);
    }

    /** The rotated width of a head of {@code headDim}. */
    public int rotaryDim(int headDim) {
        return rotaryDim > 0 ? rotaryDim : headDim;
    }

    public AttentionOptions withLogitSoftcap(float cap) {
        return new AttentionOptions(qkvBias, qkNorm, slidingWindow, slidingWindowPattern, localRopeTheta, scoreScale,
                cap, rotaryDim, qkNormOverProjection);
    }
}
