package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The weights of the shared attention block. Matrices are {@code [out, in]} tensors (GGML dims
 * {@code {in, out}}); norm weights and biases are small and kept as float arrays. The optional
 * parts are null when the family's {@link AttentionOptions} leave them out.
 *
 * @param norm the pre-attention RMSNorm weight, [dim]
 * @param wq query projection, [heads·headDim, dim]
 * @param wk key projection, [kvHeads·headDim, dim]
 * @param wv value projection, [kvHeads·headDim, dim]
 * @param wo attention output, [dim, heads·headDim]
 * @param bq query bias, [heads·headDim], or null ({@link AttentionOptions#qkvBias})
 * @param bk key bias, [kvHeads·headDim], or null
 * @param bv value bias, [kvHeads·headDim], or null
 * @param qNorm per-head query RMSNorm weight, [headDim], or null ({@link AttentionOptions#qkNorm})
 * @param kNorm per-head key RMSNorm weight, [headDim], or null
 * @param postNorm RMSNorm weight of the block's output, [dim], or null ({@link ModelConfig#postNorms}); applied
 *     to the whole output, after a tensor-parallel all-reduce
 */
public record AttentionWeights(
        float[] norm,
        Tensor wq,
        Tensor wk,
        Tensor wv,
        Tensor wo,
        float[] bq,
        float[] bk,
        float[] bv,
        float[] qNorm,
        float[] kNorm,
        float[] postNorm) {

    /** Attention without biases or Q/K norm, as in Llama. */
    public AttentionWeights(float[] norm, Tensor wq, Tensor wk, Tensor wv, Tensor wo) {
        this(norm, wq, wk, wv, wo, null, null, null, null, null, null);
    }

    /** Attention without a post-block norm. */
    public AttentionWeights(float[] norm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, float[] bq, float[] bk,
            float[] bv, float[] qNorm, float[] kNorm) {
        this(norm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, null);
    }

    public List<Tensor> matrices() {
        return List.of(wq, wk, wv, wo);
    }

    public AttentionWeights mapMatrices(UnaryOperator<Tensor> f) {
        return new AttentionWeights(norm, f.apply(wq), f.apply(wk), f.apply(wv), f.apply(wo), bq, bk, bv, qNorm, kNorm,
                postNorm);
    }
}
