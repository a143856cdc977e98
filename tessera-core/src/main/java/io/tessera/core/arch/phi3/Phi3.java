package io.tessera.core.arch.phi3;

import static io.tessera.core.arch.TensorNames.*;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.FeedForwardWeights;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
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
 * <p>The window some files carry ({@code attention.sliding_window}) is not applied, as in
 * llama.cpp, which disables it for this family. Longrope scaling (Phi-3 128k, Phi-3.5, Phi-4-mini:
 * {@code rope_factors_long/short} tensors, chosen by context length, with an attention-magnitude
 * factor) is not implemented: such files are refused by name.
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
        // "Phi3ForCausalLM" once the checkpoint loader maps this family's tensors and config keys
        return List.of();
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.NEOX, common.ropeScaling());
    }

    @Override
    public boolean fusedProjections() {
        return true;
    }

    @Override
    public Model bind(ModelConfig cfg, TensorSource t) throws ModelFormatException {
        for (String longrope : new String[] {ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT}) {
            if (t.has(longrope)) {
                throw new ModelFormatException(t.path(), longrope, "longrope rotary scaling (Phi-3 128k, Phi-3.5,"
                        + " Phi-4-mini) is not supported yet; the 4k-context Phi-3 models are");
            }
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
        return new Model(t.path(), cfg, embedding, layers, finalNorm, output, null, t.resources());
    }
}
