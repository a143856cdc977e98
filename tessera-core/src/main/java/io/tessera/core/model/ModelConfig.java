package io.tessera.core.model;

/**
 * Hyperparameters of a decoder-only transformer of any supported family: the one description of a
 * model that crosses the executor boundary (engine, cluster sharding, planner). A family
 * ({@code io.tessera.core.arch}) fills it from its file's metadata; the shared blocks of the forward
 * pass read their options from it.
 *
 * <p>{@code headDim} is usually {@code dim / heads} but is kept explicit since some models (GGUF's
 * {@code attention.key_length}, Qwen 3's {@code head_dim}) set it independently.
 *
 * @param architecture the GGUF {@code general.architecture} name (e.g. {@code llama}, {@code qwen2})
 * @param ropeStyle how rotary embeddings pair a head's dimensions
 * @param ropeScaling how rotary frequencies are stretched for longer contexts ({@link RopeScaling#NONE} if not)
 * @param attention the attention block's options (biases, Q/K norm, sliding window, soft-capping)
 * @param feedForward the gating of the feed-forward block
 * @param finalLogitSoftcap soft-capping of the output logits ({@code cap · tanh(z / cap)}); 0 for none
 * @param embeddingScale the factor of the token embedding rows (Gemma: {@code √dim}); 0 for none
 * @param postNorms whether each block's output is RMS-normalised before it is added to the
 *     residual stream ({@code post_attention_norm}, {@code post_ffw_norm}: Gemma 2 and 3)
 * @param moe the mixture-of-experts feed-forward, or {@link MoeOptions#NONE} for a dense model
 */
public record ModelConfig(
        String architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocabSize,
        int contextLength,
        float ropeTheta,
        RopeStyle ropeStyle,
        float rmsEps,
        RopeScaling ropeScaling,
        AttentionOptions attention,
        FeedForwardKind feedForward,
        float finalLogitSoftcap,
        float embeddingScale,
        boolean postNorms,
        MoeOptions moe) {

    public ModelConfig {
        require(architecture != null && !architecture.isEmpty(), "architecture must be named");
        require(dim > 0, "embedding length must be positive, got " + dim);
        require(hiddenDim > 0, "feed-forward length must be positive, got " + hiddenDim);
        require(layers > 0, "block count must be positive, got " + layers);
        require(heads > 0, "head count must be positive, got " + heads);
        require(kvHeads > 0 && heads % kvHeads == 0,
                "KV head count " + kvHeads + " must be positive and divide the head count " + heads);
        require(headDim > 0 && headDim % 2 == 0, "head dimension must be positive and even, got " + headDim);
        require(vocabSize > 0, "vocabulary size must be positive, got " + vocabSize);
        require(contextLength > 0, "context length must be positive, got " + contextLength);
        require(ropeTheta > 0, "rope frequency base must be positive, got " + ropeTheta);
        require(rmsEps > 0, "RMS norm epsilon must be positive, got " + rmsEps);
        require(ropeStyle != null && ropeScaling != null && attention != null && feedForward != null && moe != null,
                "rope style, rope scaling, attention options, feed-forward kind and experts must be given");
        require(moe.leadingDenseLayers() <= layers, "leading dense block count " + moe.leadingDenseLayers()
                + " exceeds the block count " + layers);
        require(finalLogitSoftcap >= 0 && Float.isFinite(finalLogitSoftcap),
                "final logit soft-cap must be 0 (none) or positive, got " + finalLogitSoftcap);
        require(embeddingScale >= 0 && Float.isFinite(embeddingScale),
                "embedding scale must be 0 (none) or positive, got " + embeddingScale);
        require(attention.rotaryDim() <= headDim, "rotary dimension count " + attention.rotaryDim()
                + " must not exceed the head dimension " + headDim);
    }

    /** Without an embedding scale or post-block norms. */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
            int vocabSize, int contextLength, float ropeTheta, RopeStyle ropeStyle, float rmsEps,
            RopeScaling ropeScaling, AttentionOptions attention, FeedForwardKind feedForward, float finalLogitSoftcap) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength, ropeTheta,
                ropeStyle, rmsEps, ropeScaling, attention, feedForward, finalLogitSoftcap, 0f, false, MoeOptions.NONE);
    }

    /** A dense model (no experts). */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
            int vocabSize, int contextLength, float ropeTheta, RopeStyle ropeStyle, float rmsEps,
            RopeScaling ropeScaling, AttentionOptions attention, FeedForwardKind feedForward, float finalLogitSoftcap,
            float embeddingScale, boolean postNorms) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength, ropeTheta,
                ropeStyle, rmsEps, ropeScaling, attention, feedForward, finalLogitSoftcap, embeddingScale, postNorms,
                MoeOptions.NONE);
    }

    /**
     * A plain Llama-style decoder: no rope scaling, attention without biases, Q/K norm, window or
     * soft-capping, a SwiGLU feed-forward. Families add their options with the {@code with...} methods.
     */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
            int vocabSize, int contextLength, float ropeTheta, RopeStyle ropeStyle, float rmsEps) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength, ropeTheta,
                ropeStyle, rmsEps, RopeScaling.NONE, AttentionOptions.NONE, FeedForwardKind.SWIGLU, 0f);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Width of the query projection output: heads × headDim. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of one token's keys (and values): kvHeads × headDim. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Query heads sharing one KV head (grouped-query attention). */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Parameters of the model, counting a tied output head once (every expert of a mixture-of-experts model). */
    public long parameterCount(boolean tiedOutput) {
        return parameterCount(tiedOutput, false);
    }

    /**
     * Parameters a token's computation uses: for a mixture-of-experts model the router, the shared
     * expert and only {@code expertsUsed} of the experts of each sparse layer; for a dense model
     * {@link #parameterCount(boolean)}.
     */
    public long activeParameterCount(boolean tiedOutput) {
        return parameterCount(tiedOutput, true);
    }

    private long parameterCount(boolean tiedOutput, boolean active) {
        long perLayer = attentionMatrixWeights() + 2L * dim;
        if (attention.qkvBias()) {
            perLayer += qDim() + 2L * kvDim();
        }
        if (attention.qkNorm()) {
            perLayer += attention.qkNormWidth(headDim, qDim()) + attention.qkNormWidth(headDim, kvDim());
        }
        if (postNorms) {
            perLayer += 2L * dim;
        }
        long embed = (long) vocabSize * dim;
        return embed + (tiedOutput ? 0 : embed) + perLayer * layers + feedForwardWeights(active) + dim;
    }

    private long attentionMatrixWeights() {
        return (long) dim * qDim() + 2L * dim * kvDim() + (long) qDim() * dim;
    }

    /** The feed-forward matrices of all layers: dense ones whole, sparse ones all or only a token's experts. */
    private long feedForwardWeights(boolean active) {
        long sparse = 0;
        for (int l = 0; l < layers; l++) {
            sparse += moe.sparse(l) ? 1 : 0;
        }
        long perSparse = active ? moe.activeLayerWeights(dim) : moe.layerWeights(dim);
        return (layers - sparse) * 3L * dim * hiddenDim + sparse * perSparse;
    }

    /**
     * Weights of the layers' matrix products each token multiplies once (no head, no norms): of a
     * mixture-of-experts layer the router, the shared expert and {@code expertsUsed} experts.
     */
    public long layerMatrixWeights() {
        return layers * attentionMatrixWeights() + feedForwardWeights(true);
    }

    /** Bytes of KV cache one token takes: 2 (K and V) × layers × kvDim × bytes per value. */
    public long kvBytesPerToken(int bytesPerValue) {
        return 2L * layers * kvDim() * bytesPerValue;
    }

    public ModelConfig withArchitecture(String name) {
        return new ModelConfig(name, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    public ModelConfig withVocabSize(int vocab) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocab, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    /** The same model configured for another context length (longrope chooses its factors by it). */
    public ModelConfig withContextLength(int ctx) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, ctx,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    /** The same model with a mixture-of-experts feed-forward ({@link MoeOptions#NONE}: dense). */
    public ModelConfig withMoe(MoeOptions options) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, options);
    }

    public ModelConfig withLayers(int n) {
        return new ModelConfig(architecture, dim, hiddenDim, n, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    public ModelConfig withRope(RopeStyle style, RopeScaling scaling) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, style, rmsEps, scaling, attention, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    public ModelConfig withAttention(AttentionOptions options) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, options, feedForward,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    public ModelConfig withFeedForward(FeedForwardKind kind) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, kind,
                finalLogitSoftcap, embeddingScale, postNorms, moe);
    }

    public ModelConfig withFinalLogitSoftcap(float cap) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward, cap, embeddingScale, postNorms, moe);
    }

    /** Token embedding rows scaled by {@code scale} and each block's output normalised before the residual add. */
    public ModelConfig withEmbeddingScaleAndPostNorms(float scale, boolean post) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                ropeTheta, ropeStyle, rmsEps, ropeScaling, attention, feedForward, finalLogitSoftcap, scale, post, moe);
    }
}
