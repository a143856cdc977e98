package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One transformer block as the shared blocks of the forward pass see it: an attention block, then
 * a feed-forward block, each adding its result to the residual stream.
 */
public record DecoderLayer(AttentionWeights attention, FeedForwardWeights feedForward) {

    /** Every weight matrix of the block. */
    public List<Tensor> matrices() {
        List<Tensor> all = new ArrayList<>(attention.matrices());
        all.addAll(feedForward.matrices());
        return all;
    }

    /** The same block with every matrix replaced by {@code f(matrix)} (slicing, repacking). */
    public DecoderLayer mapMatrices(UnaryOperator<Tensor> f) {
        return new DecoderLayer(attention.mapMatrices(f), feedForward.mapMatrices(f));
    }
}
