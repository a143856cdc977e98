package io.tessera.planner.model;

/**
 * The planner's description of a decoder-only transformer (core's {@code synth.ModelShape} is the
 * shape a synthetic model file is written in), as much as memory and cost need: dimensions, attention
 * kind (multi-head / grouped-query, or DeepSeek's multi-head latent attention), feed-forward kind
 * (dense, gated or not, or mixture-of-experts).
 *
 * @param name model name
 * @param hidden hidden size
 * @param layers decoder layers
 * @param heads attention (query) heads
 * @param kvHeads key/value heads (grouped-query attention when fewer than heads)
 * @param headDim per-head dimension
 * @param intermediate feed-forward inner size of a dense layer
 * @param vocab vocabulary size
 * @param tiedEmbeddings whether the output head shares the embedding matrix
 * @param gatedFfn three FFN matrices (gate, up, down: SwiGLU) instead of two
 * @param qkvBias whether the Q, K, V projections have biases
 * @param maxContext the model's maximum context length
 * @param experts routed experts per MoE layer (0 for a dense model)
 * @param expertsPerToken routed experts each token uses
 * @param sharedExperts always-active experts per MoE layer
 * @param moeIntermediate inner size of one expert
 * @param denseLayers leading layers that stay dense in an MoE model
 * @param qLoraRank MLA: rank of the query compression (0 = queries not compressed)
 * @param kvLoraRank MLA: rank of the compressed KV latent (0 = not MLA)
 * @param qkNopeHeadDim MLA: per-head query/key dimension without rotary embedding
 * @param qkRopeHeadDim MLA: rotary part of query/key, shared by heads in the cache
 * @param vHeadDim MLA: per-head value dimension
 * @param paramOverride when positive, the total parameter count to use instead of the shape's
 *     (for "a 6B model" questions); the shape then only serves the KV cache and FLOP estimates
 */
public record ModelSpec(String name, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
                         int vocab, boolean tiedEmbeddings, boolean gatedFfn, boolean qkvBias, int maxContext,
                         int experts, int expertsPerToken, int sharedExperts, int moeIntermediate, int denseLayers,
                         int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim,
                         long paramOverride) {

    public ModelSpec {
        if (hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || vocab <= 0) {
            throw new IllegalArgumentException("model " + name + ": hidden, layers, heads, kv_heads, head_dim and vocab must be positive");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("model " + name + ": " + heads + " heads not a multiple of " + kvHeads + " kv heads");
        }
        if (experts > 0 && (expertsPerToken <= 0 || expertsPerToken > experts || moeIntermediate <= 0)) {
            throw new IllegalArgumentException("model " + name + ": MoE needs 0 < experts_per_token <= experts and moe_intermediate");
        }
        if (denseLayers < 0 || denseLayers > layers) {
            throw new IllegalArgumentException("model " + name + ": dense_layers out of range");
        }
    }

    /** A dense Llama-style model (SwiGLU, RMSNorm, rotary, no biases). */
    public static ModelSpec llama(String name, int hidden, int layers, int heads, int kvHeads, int intermediate,
                                   int vocab, boolean tied, int maxContext) {
        return new ModelSpec(name, hidden, layers, heads, kvHeads, hidden / heads, intermediate, vocab, tied, true,
                false, maxContext, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    /**
     * A generic dense model of exactly {@code params} parameters for rule-of-thumb questions: the
     * weights count {@code params}; the shape (for the KV cache and FLOPs) follows the usual aspect
     * of Llama-like models, hidden = 128 x layers and 12 x layers x hidden^2 parameters, hidden rounded to a multiple of 512.
     */
    public static ModelSpec generic(long params) {
        int hidden = (int) Math.max(256, Math.round(Math.cbrt(params * 128.0 / 12.0) / 512.0) * 512);
        int layers = Math.max(1, hidden / 128);
        int heads = hidden / 128;
        String name = formatParams(params);
        return new ModelSpec(name, hidden, layers, heads, heads, 128, 4 * hidden, 32000, false, false, false, 4096,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, params);
    }

    static String formatParams(long p) {
        double b = p / 1e9;
        return (b == Math.rint(b) ? String.valueOf((long) b) : String.valueOf(b)) + "b";
    }

    public boolean isMoe() {
        return experts > 0;
    }

    public boolean isMla() {
        return kvLoraRank > 0;
    }

    /** Layers with a mixture-of-experts FFN. */
    public int moeLayers() {
        return isMoe() ? layers - denseLayers : 0;
    }

    public boolean isMoeLayer(int layer) {
        return isMoe() && layer >= denseLayers;
    }

    // ---- parameter counts (whole model, no parallelism) ----

    /** Attention weights of one layer that tensor parallelism splits. */
    public long attentionSplitParams() {
        if (isMla()) {
            long qk = (long) qkNopeHeadDim + qkRopeHeadDim;
            long qB = qLoraRank > 0 ? (long) qLoraRank * heads * qk : (long) hidden * heads * qk;
            long kvB = (long) kvLoraRank * heads * (qkNopeHeadDim + vHeadDim);
            long o = (long) heads * vHeadDim * hidden;
            return qB + kvB + o;
        }
        long q = (long) hidden * heads * headDim;
        long kv = 2L * hidden * kvHeads * headDim;
        long o = (long) heads * headDim * hidden;
        long bias = qkvBias ? (long) (heads + 2 * kvHeads) * headDim : 0;
        return q + kv + o + bias;
    }

    /** Attention weights of one layer that every tensor-parallel rank keeps whole (MLA's down projections). */
    public long attentionReplicatedParams() {
        if (!isMla()) {
            return 0;
        }
        long qA = qLoraRank > 0 ? (long) hidden * qLoraRank + qLoraRank : 0;
        long kvA = (long) hidden * (kvLoraRank + qkRopeHeadDim) + kvLoraRank;
        return qA + kvA;
    }

    public long attentionParams() {
        return attentionSplitParams() + attentionReplicatedParams();
    }

    private int ffnMatrices() {
        return gatedFfn ? 3 : 2;
    }

    public long denseFfnParams() {
        return (long) ffnMatrices() * hidden * intermediate;
    }

    public long expertParams() {
        return (long) ffnMatrices() * hidden * moeIntermediate;
    }

    public long routerParams() {
        return (long) hidden * experts;
    }

    /** Norm weights of one layer (two RMSNorms). */
    public long layerNormParams() {
        return 2L * hidden;
    }

    public long ffnParams(int layer) {
        if (isMoeLayer(layer)) {
            return (long) (experts + sharedExperts) * expertParams() + routerParams();
        }
        return denseFfnParams();
    }

    /** FFN parameters one token passes through in this layer. */
    public long activeFfnParams(int layer) {
        if (isMoeLayer(layer)) {
            return (long) (expertsPerToken + sharedExperts) * expertParams() + routerParams();
        }
        return denseFfnParams();
    }

    public long layerParams(int layer) {
        return attentionParams() + ffnParams(layer) + layerNormParams();
    }

    public long embeddingParams() {
        return (long) vocab * hidden;
    }

    /** Output head parameters stored separately (0 when tied to the embedding). */
    public long headParams() {
        return tiedEmbeddings ? 0 : (long) vocab * hidden;
    }

    /** All parameters of the shape (ignores {@link #paramOverride}). */
    public long shapeParams() {
        long n = embeddingParams() + headParams() + hidden;
        for (int l = 0; l < layers; l++) {
            n += layerParams(l);
        }
        return n;
    }

    /** Total parameters: the override when set, otherwise the shape's count. Every expert counts. */
    public long totalParams() {
        return paramOverride > 0 ? paramOverride : shapeParams();
    }

    /** Parameters one token passes through (active experts only; the embedding gather excluded). */
    public long activeParams() {
        if (paramOverride > 0) {
            return paramOverride;
        }
        long n = (long) vocab * hidden + hidden;
        for (int l = 0; l < layers; l++) {
            n += attentionParams() + activeFfnParams(l) + layerNormParams();
        }
        return n;
    }

    /** Values cached per token per layer: 2 x kv_heads x head_dim, or MLA's latent + rotary key. */
    public long kvValuesPerTokenPerLayer() {
        return isMla() ? (long) kvLoraRank + qkRopeHeadDim : 2L * kvHeads * headDim;
    }

    /** Per-head key dimension used in attention scores. */
    public int qkHeadDim() {
        return isMla() ? qkNopeHeadDim + qkRopeHeadDim : headDim;
    }

    public ModelSpec withName(String n) {
        return new ModelSpec(n, hidden, layers, heads, kvHeads, headDim, intermediate, vocab, tiedEmbeddings,
                gatedFfn, qkvBias, maxContext, experts, expertsPerToken, sharedExperts, moeIntermediate, denseLayers,
                qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim, paramOverride);
    }

    /** The same model with its first {@code n} layers only (a calibration varies the depth this way). */
    public ModelSpec withLayers(int n) {
        return new ModelSpec(name, hidden, n, heads, kvHeads, headDim, intermediate, vocab, tiedEmbeddings,
                gatedFfn, qkvBias, maxContext, experts, expertsPerToken, sharedExperts, moeIntermediate,
                Math.min(denseLayers, n), qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim, paramOverride);
    }
}
