package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;

/**
 * One transformer block. Matrices are {@code [out, in]} tensors (GGML dims {@code {in, out}});
 * norm weights are small and kept as float arrays.
 *
 * @param wq query projection, [heads·headDim, dim]
 * @param wk key projection, [kvHeads·headDim, dim]
 * @param wv value projection, [kvHeads·headDim, dim]
 * @param wo attention output, [dim, heads·headDim]
 * @param wGate FFN gate (w1), [hidden, dim]
 * @param wDown FFN down (w2), [dim, hidden]
 * @param wUp FFN up (w3), [hidden, dim]
 * @param bq query bias or null (Qwen2 has Q/K/V biases; Llama has none)
 * @param bk key bias or null
 * @param bv value bias or null
 */
public record LayerWeights(
        float[] attnNorm,
        Tensor wq,
        Tensor wk,
        Tensor wv,
        Tensor wo,
        float[] ffnNorm,
        Tensor wGate,
        Tensor wDown,
        Tensor wUp,
        float[] bq,
        float[] bk,
        float[] bv) {

    /** A block without attention biases, as in Llama. */
    public LayerWeights(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, float[] ffnNorm,
            Tensor wGate, Tensor wDown, Tensor wUp) {
        this(attnNorm, wq, wk, wv, wo, ffnNorm, wGate, wDown, wUp, null, null, null);
    }
}
