package io.tessera.core.arch.qwen2;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.GgufExperts;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import java.util.List;

/**
 * Qwen 1.5 and 2 MoE: Qwen 2's attention (Q/K/V biases, half-split rotary pairs) with a mixture of
 * experts in every layer, as llama.cpp's {@code qwen2moe} runs it: softmax over the experts, the
 * chosen ones' weights not renormalised, and a shared expert added to every token, gated by
 * {@code sigmoid(h · ffn_gate_inp_shexp)}. Experts are {@code expert_feed_forward_length} wide
 * (else {@code feed_forward_length / expert_used_count}), the shared expert
 * {@code expert_shared_feed_forward_length} (else {@code feed_forward_length}).
 */
public final class Qwen2Moe implements Architecture {

    @Override
    public String name() {
        return "qwen2moe";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("qwen2moe");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("Qwen2MoeForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return new Qwen2().configure(common);
    }

    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        return GgufExperts.read(configured, md, prefix, new GgufExperts.Defaults(true, 0, true, false));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
