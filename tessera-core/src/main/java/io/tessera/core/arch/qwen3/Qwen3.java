package io.tessera.core.arch.qwen3;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * Qwen 3 (dense): Qwen 2's layer without the Q/K/V biases and with each head's query and key
 * RMS-normalised before the rotary embedding ({@code blk.N.attn_q_norm} / {@code attn_k_norm}, one
 * head wide). Its head dimension is set on its own (128 for every size), so the query width
 * differs from the embedding width in the smaller models.
 */
public final class Qwen3 implements Architecture {

    @Override
    public String name() {
        return "qwen3";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("qwen3");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("Qwen3ForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.NEOX, common.ropeScaling())
                .withAttention(common.attention().withQkNorm(true));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
