package io.tessera.core.model;

/**
 * Hyperparameters of a Llama-family decoder. {@code headDim} is usually {@code dim / heads} but is
 * kept explicit since some models (and GGUF's {@code attention.key_length}) set it independently.
 */
public record LlamaConfig(
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
        float rmsEps) {

    public LlamaConfig {
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

    /** Parameters of the model, counting a tied output head once. */
    public long parameterCount(boolean tiedOutput) {
        long perLayer = (long) dim * qDim() + 2L * dim * kvDim() + (long) qDim() * dim
                + 3L * dim * hiddenDim + 2L * dim;
        long embed = (long) vocabSize * dim;
        return embed + (tiedOutput ? 0 : embed) + perLayer * layers + dim;
    }

    /** Weights of the layers' matrix products, each of which every token multiplies once (no head, no norms). */
    public long layerMatrixWeights() {
        return layers * ((long) dim * qDim() + 2L * dim * kvDim() + (long) qDim() * dim + 3L * dim * hiddenDim);
    }

    /** Bytes of KV cache one token takes: 2 (K and V) × layers × kvDim × bytes per value. */
    public long kvBytesPerToken(int bytesPerValue) {
        return 2L * layers * kvDim() * bytesPerValue;
    }
}
