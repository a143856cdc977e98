package io.tessera.core.arch;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Binds the shared blocks' weights by name (the role of llama.cpp's {@code create_tensor} calls
 * common to most families): a family that is a pre-norm decoder of attention and gated
 * feed-forward blocks binds with {@link #bind}, one whose layer differs composes
 * {@link #attention} and {@link #feedForward} with its own parts.
 */
public final class DecoderBlocks {

    private DecoderBlocks() {
    }

    /**
     * The pre-norm attention block of layer {@code l}; biases and per-head Q/K norm weights are
     * bound when the configuration's {@link AttentionOptions} ask for them, the output norm when it
     * has {@link ModelConfig#postNorms}.
     */
    public static AttentionWeights attention(ModelConfig cfg, TensorSource t, int l) throws ModelFormatException {
        int dim = cfg.dim();
        AttentionOptions o = cfg.attention();
        return new AttentionWeights(
                t.vector(attnNorm(l), dim),
                t.matrix(attnQ(l), cfg.qDim(), dim),
                t.matrix(attnK(l), cfg.kvDim(), dim),
                t.matrix(attnV(l), cfg.kvDim(), dim),
                t.matrix(attnOutput(l), dim, cfg.qDim()),
                o.qkvBias() ? t.vector(attnQBias(l), cfg.qDim()) : null,
                o.qkvBias() ? t.vector(attnKBias(l), cfg.kvDim()) : null,
                o.qkvBias() ? t.vector(attnVBias(l), cfg.kvDim()) : null,
                o.qkNorm() ? t.vector(attnQNorm(l), cfg.headDim()) : null,
                o.qkNorm() ? t.vector(attnKNorm(l), cfg.headDim()) : null,
                cfg.postNorms() ? t.vector(attnPostNorm(l), dim) : null);
    }

    /** The pre-norm gated feed-forward block of layer {@code l} (and its output norm with post norms). */
    public static FeedForwardWeights feedForward(ModelConfig cfg, TensorSource t, int l) throws ModelFormatException {
        int dim = cfg.dim();
        return new FeedForwardWeights(
                t.vector(ffnNorm(l), dim),
                t.matrix(ffnGate(l), cfg.hiddenDim(), dim),
                t.matrix(ffnUp(l), cfg.hiddenDim(), dim),
                t.matrix(ffnDown(l), dim, cfg.hiddenDim()),
                cfg.postNorms() ? t.vector(ffnPostNorm(l), dim) : null);
    }

    /**
     * A whole pre-norm decoder: the token embedding, every layer's attention and feed-forward
     * blocks, the final norm and the output head (the embedding itself when the file has no
     * {@code output.weight}).
     *
     * @param ropeFrequencyFactors the divisors of the rotary frequencies the file stores, or null
     */
    public static Model bind(ModelConfig cfg, TensorSource t, float[] ropeFrequencyFactors)
            throws ModelFormatException {
        Tensor embedding = t.matrix(TOKEN_EMBEDDING, cfg.vocabSize(), cfg.dim());
        List<DecoderLayer> layers = new ArrayList<>(cfg.layers());
        for (int l = 0; l < cfg.layers(); l++) {
            layers.add(new DecoderLayer(attention(cfg, t, l), feedForward(cfg, t, l)));
        }
        float[] finalNorm = t.vector(OUTPUT_NORM, cfg.dim());
        Tensor output = t.has(OUTPUT) ? t.matrix(OUTPUT, cfg.vocabSize(), cfg.dim()) : embedding;
        return new Model(t.path(), cfg, embedding, layers, finalNorm, output, ropeFrequencyFactors, t.resources());
    }
}
