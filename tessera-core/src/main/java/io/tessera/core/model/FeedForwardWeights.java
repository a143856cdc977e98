package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The weights of the shared gated feed-forward block, {@code down(act(gate·x) ⊙ up·x)} with the
 * activation of the model's {@link FeedForwardKind}.
 *
 * @param norm the pre-FFN RMSNorm weight, [dim]
 * @param gate gate projection (llama2.c's w1), [hidden, dim]
 * @param up up projection (w3), [hidden, dim]
 * @param down down projection (w2), [dim, hidden]
 * @param postNorm RMSNorm weight of the block's output, [dim], or null ({@link ModelConfig#postNorms})
 */
public record FeedForwardWeights(float[] norm, Tensor gate, Tensor up, Tensor down, float[] postNorm) {

    /** A feed-forward block without a post-block norm. */
    public FeedForwardWeights(float[] norm, Tensor gate, Tensor up, Tensor down) {
        this(norm, gate, up, down, null);
    }

    public List<Tensor> matrices() {
        return List.of(gate, down, up);
    }

    public FeedForwardWeights mapMatrices(UnaryOperator<Tensor> f) {
        return new FeedForwardWeights(norm, f.apply(gate), f.apply(up), f.apply(down), postNorm);
    }
}
