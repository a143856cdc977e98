package io.tessera.core.arch;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.ExpertWeights;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.MoeWeights;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Binds the shared blocks' weights by name (the role of llama.cpp's {@code create_tensor} calls
 * common to most families): a family that is a pre-norm decoder of attention and gated
 * feed-forward blocks binds with {@link #bind}, one whose layer differs composes
 * {@link #attention} and {@link #feedForward} with its own parts. A layer of a model with experts
 * ({@link MoeOptions#sparse}) binds {@link #mixtureOfExperts} in place of the dense block.
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
                o.qkNorm() ? t.vector(attnQNorm(l), o.qkNormWidth(cfg.headDim(), cfg.qDim())) : null,
                o.qkNorm() ? t.vector(attnKNorm(l), o.qkNormWidth(cfg.headDim(), cfg.kvDim())) : null,
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
     * The pre-norm mixture-of-experts block of layer {@code l} ({@link MoeOptions}): the router, the
     * experts from stacked 3-D tensors ({@code ffn_gate_exps}, each expert a view of its part) or,
     * when the file has none, from one tensor per expert (the older Mixtral layout, and the names
     * a Hugging Face checkpoint's {@code experts.N} are mapped to), the shared expert and its gate
     * when the configuration has them.
     */
    public static MoeWeights mixtureOfExperts(ModelConfig cfg, TensorSource t, int l) throws ModelFormatException {
        int dim = cfg.dim();
        MoeOptions moe = cfg.moe();
        int count = moe.experts();
        int hidden = moe.expertHiddenDim();
        List<ExpertWeights> experts = new ArrayList<>(count);
        if (t.has(ffnGateExps(l))) {
            List<Tensor> gates = t.stackedMatrices(ffnGateExps(l), count, hidden, dim);
            List<Tensor> ups = t.stackedMatrices(ffnUpExps(l), count, hidden, dim);
            List<Tensor> downs = t.stackedMatrices(ffnDownExps(l), count, dim, hidden);
            for (int e = 0; e < count; e++) {
                experts.add(new ExpertWeights(gates.get(e), ups.get(e), downs.get(e)));
            }
        } else {
            for (int e = 0; e < count; e++) {
                experts.add(new ExpertWeights(t.matrix(ffnGateExpert(l, e), hidden, dim),
                        t.matrix(ffnUpExpert(l, e), hidden, dim), t.matrix(ffnDownExpert(l, e), dim, hidden)));
            }
        }
        int sharedHidden = moe.sharedHiddenDim();
        ExpertWeights shared = sharedHidden == 0 ? null : new ExpertWeights(t.matrix(ffnGateShared(l), sharedHidden, dim),
                t.matrix(ffnUpShared(l), sharedHidden, dim), t.matrix(ffnDownShared(l), dim, sharedHidden));
        return new MoeWeights(t.vector(ffnNorm(l), dim), t.matrix(ffnGateInp(l), count, dim), experts, shared,
                moe.sharedExpertGate() ? t.vector(ffnGateInpShared(l), dim) : null,
                cfg.postNorms() ? t.vector(ffnPostNorm(l), dim) : null);
    }

    /** Layer {@code l}'s attention and its dense or mixture-of-experts feed-forward block, as the configuration says. */
    public static DecoderLayer layer(ModelConfig cfg, TensorSource t, int l, AttentionWeights attention)
            throws ModelFormatException {
        return cfg.moe().sparse(l) ? new DecoderLayer(attention, mixtureOfExperts(cfg, t, l))
                : new DecoderLayer(attention, feedForward(cfg, t, l));
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
            layers.add(layer(cfg, t, l, attention(cfg, t, l)));
        }
        float[] finalNorm = t.vector(OUTPUT_NORM, cfg.dim());
        Tensor output = t.has(OUTPUT) ? t.matrix(OUTPUT, cfg.vocabSize(), cfg.dim()) : embedding;
        return new Model(t.path(), cfg, embedding, layers, finalNorm, output, ropeFrequencyFactors, t.resources());
    }
}
