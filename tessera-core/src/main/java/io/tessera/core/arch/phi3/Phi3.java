package io.tessera.core.arch.phi3;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.shard.ModelShard;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Phi-3 and Phi-4-mini: a Llama layer with NeoX rotary pairing whose Q, K and V projections are
 * one {@code attn_qkv} matrix and whose gate and up projections are one {@code ffn_up} matrix
 * (gate rows first, as Hugging Face's {@code gate_up_proj.chunk(2)}). Both are cut into row
 * slices of the same mapped bytes at bind time, so the shared blocks and the tensor-parallel
 * split see separate matrices. A file with separate {@code attn_q/k/v} is bound as well, as
 * llama.cpp does.
 *
 * <p>The window some files carry ({@code attention.sliding_window}, Hugging Face's
 * {@code sliding_window}) is not applied, as in llama.cpp, which disables it for this family.
 *
 * <p>Longrope (Phi-3 128k, Phi-3.5, Phi-4-mini): each rotary pair's frequency is divided by a factor
 * of one of two lists ({@code rope_factors_short/long}; Hugging Face's {@code short_factor} and
 * {@code long_factor}), the long one when the model is configured for a context longer than the
 * original one ({@link Model#rotaryFactors}), and the rotated values are multiplied by
 * {@code rope.scaling.attn_factor}. Phi-4-mini rotates only the first 96 of its 128 head
 * dimensions ({@code rope.dimension_count}, {@code partial_rotary_factor} 0.75).
 */
public final class Phi3 implements Architecture {

    @Override
    public String name() {
        return "phi3";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("phi3");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("Phi3ForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.NEOX, common.ropeScaling());
    }

    /**
     * {@code rope.scaling.original_context_length} and {@code rope.scaling.attn_factor}, which
     * llama.cpp's converter writes for every Phi-3: with them the configuration is longrope, its
     * factor lists bound with the weights.
     */
    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        String originalKey = prefix + "rope.scaling.original_context_length";
        String attnKey = prefix + "rope.scaling.attn_factor";
        if (configured.ropeScaling().type() != RopeScaling.Type.NONE
                || !(md.contains(originalKey) || md.contains(attnKey))) {
            return configured;
        }
        int original = md.getInt(originalKey, configured.contextLength());
        float attention = md.getFloat(attnKey, 1f);
        if (original <= 0 || !(attention > 0) || !Float.isFinite(attention)) {
            throw new ModelFormatException(md.file(), original <= 0 ? originalKey : attnKey,
                    "must be positive, got " + (original <= 0 ? original : attention));
        }
        float factor = Math.max(1f, (float) configured.contextLength() / original);
        return configured.withRope(configured.ropeStyle(), RopeScaling.longrope(factor, original, attention));
    }

    @Override
    public boolean partialRotary() {
        return true;
    }

    @Override
    public boolean fusedProjections() {
        return true;
    }

    @Override
    public Model bind(ModelConfig configured, TensorSource t) throws ModelFormatException {
        ModelConfig cfg = configured;
        float[] shortFactors = null;
        float[] longFactors = null;
        int pairs = cfg.attention().rotaryDim(cfg.headDim()) / 2;
        if (t.has(ROPE_FACTORS_SHORT) || t.has(ROPE_FACTORS_LONG)) {
            // both lists are needed; a missing one is refused by name
            shortFactors = t.vector(ROPE_FACTORS_SHORT, pairs);
            longFactors = t.vector(ROPE_FACTORS_LONG, pairs);
            if (cfg.ropeScaling().type() != RopeScaling.Type.LONGROPE) {
                // no original context given: llama.cpp takes the trained one, so the short list applies
                cfg = cfg.withRope(cfg.ropeStyle(), RopeScaling.longrope(1f, cfg.contextLength(), 1f));
            }
        } else if (cfg.ropeScaling().type() == RopeScaling.Type.LONGROPE) {
            RopeScaling s = cfg.ropeScaling();
            if (s.factor() != 1f || s.attentionFactor() != 1f) {
                throw new ModelFormatException(t.path(), ROPE_FACTORS_SHORT, "is missing: longrope scaling of a "
                        + s.originalContext() + "-token original context needs its factor lists");
            }
            // the converter's keys of a model that is not stretched (Phi-3 4k): nothing to scale
            cfg = cfg.withRope(cfg.ropeStyle(), RopeScaling.NONE);
        }
        int dim = cfg.dim();
        Tensor embedding = t.matrix(TOKEN_EMBEDDING, cfg.vocabSize(), dim);
        List<DecoderLayer> layers = new ArrayList<>(cfg.layers());
        for (int l = 0; l < cfg.layers(); l++) {
            Tensor wq;
            Tensor wk;
            Tensor wv;
            if (t.has(attnQkv(l))) {
                Tensor qkv = t.matrix(attnQkv(l), cfg.qDim() + 2 * cfg.kvDim(), dim);
                wq = ModelShard.rows(qkv, 0, cfg.qDim());
                wk = ModelShard.rows(qkv, cfg.qDim(), cfg.kvDim());
                wv = ModelShard.rows(qkv, cfg.qDim() + cfg.kvDim(), cfg.kvDim());
            } else {
                wq = t.matrix(attnQ(l), cfg.qDim(), dim);
                wk = t.matrix(attnK(l), cfg.kvDim(), dim);
                wv = t.matrix(attnV(l), cfg.kvDim(), dim);
            }
            AttentionWeights attention = new AttentionWeights(t.vector(attnNorm(l), dim), wq, wk, wv,
                    t.matrix(attnOutput(l), dim, cfg.qDim()));
            Tensor gateUp = t.matrix(ffnUp(l), 2 * cfg.hiddenDim(), dim);
            FeedForwardWeights feedForward = new FeedForwardWeights(t.vector(ffnNorm(l), dim),
                    ModelShard.rows(gateUp, 0, cfg.hiddenDim()), ModelShard.rows(gateUp, cfg.hiddenDim(), cfg.hiddenDim()),
                    t.matrix(ffnDown(l), dim, cfg.hiddenDim()));
            layers.add(new DecoderLayer(attention, feedForward));
        }
        float[] finalNorm = t.vector(OUTPUT_NORM, dim);
        Tensor output = t.has(OUTPUT) ? t.matrix(OUTPUT, cfg.vocabSize(), dim) : embedding;
        return new Model(t.path(), cfg, embedding, layers, finalNorm, output, shortFactors, longFactors,
                t.resources());
    }
}
