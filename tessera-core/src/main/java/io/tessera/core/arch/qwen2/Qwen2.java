package io.tessera.core.arch.qwen2;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * Qwen 2 and 2.5: Llama's layer with biases on the Q, K and V projections and rotary embeddings on
 * half-split ("NeoX") pairs.
 */
public final class Qwen2 implements Architecture {

    @Override
    public String name() {
        return "qwen2";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("qwen2");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("Qwen2ForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.NEOX, common.ropeScaling())
                .withAttention(common.attention().withQkvBias(true));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
