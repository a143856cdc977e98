package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One transformer block as the shared blocks of the forward pass see it: an attention block, then
 * a feed-forward block, each adding its result to the residual stream. The feed-forward block is
 * either dense ({@code feedForward}) or a mixture of experts ({@code moe}): exactly one is given.
 */
public record DecoderLayer(AttentionWeights attention, FeedForwardWeights feedForward, MoeWeights moe) {

    public DecoderLayer {
        if ((feedForward == null) == (moe == null)) {
            throw new IllegalArgumentException("a layer has either a dense or a mixture-of-experts feed-forward block");
        }
    }

    /** A block with a dense feed-forward. */
    public DecoderLayer(AttentionWeights attention, FeedForwardWeights feedForward) {
        this(attention, feedForward, null);
    }

    /** A block with a mixture-of-experts feed-forward. */
    public DecoderLayer(AttentionWeights attention, MoeWeights moe) {
        this(attention, null, moe);
    }

    /** The RMSNorm weight of the feed-forward block's output, or null (either kind of block). */
    public float[] feedForwardPostNorm() {
        return moe != null ? moe.postNorm() : feedForward.postNorm();
    }

    /** Every weight matrix of the block. */
    public List<Tensor> matrices() {
        List<Tensor> all = new ArrayList<>(attention.matrices());
        all.addAll(moe != null ? moe.matrices() : feedForward.matrices());
        return all;
    }

    /** The same block with every matrix replaced by {@code f(matrix)} (slicing, repacking). */
    public DecoderLayer mapMatrices(UnaryOperator<Tensor> f) {
        return new DecoderLayer(attention.mapMatrices(f), feedForward == null ? null : feedForward.mapMatrices(f),
                moe == null ? null : moe.mapMatrices(f));
    }
}
