package io.tessera.core.arch.olmoe;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.GgufExperts;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * OLMoE (allenai/OLMoE-1B-7B): a pre-norm decoder whose attention RMS-normalises each token's
 * whole query and key projections (weights of the projection's width, not one head's) before
 * half-split ("NeoX") rotary embeddings, and whose every feed-forward block is a mixture of
 * experts of {@code feed_forward_length}, chosen by softmax, their weights not renormalised; as
 * llama.cpp's {@code olmoe} runs it.
 */
public final class Olmoe implements Architecture {

    @Override
    public String name() {
        return "olmoe";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("olmoe");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("OlmoeForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.NEOX, common.ropeScaling())
                .withAttention(common.attention().withQkNormOverProjection());
    }

    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        return GgufExperts.read(configured, md, prefix,
                new GgufExperts.Defaults(true, configured.hiddenDim(), false, false));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
