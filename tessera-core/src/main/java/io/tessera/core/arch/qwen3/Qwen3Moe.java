package io.tessera.core.arch.qwen3;

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
 * Qwen 3 MoE (Qwen3-30B-A3B, 235B-A22B): Qwen 3's attention (per-head Q/K norm, no biases) with a
 * mixture of experts in every layer, as llama.cpp's {@code qwen3moe} runs it: softmax over the
 * experts, the chosen ones' weights renormalised (Hugging Face's {@code norm_topk_prob}), no shared
 * expert. Experts are {@code expert_feed_forward_length} wide (else
 * {@code feed_forward_length / expert_used_count}).
 */
public final class Qwen3Moe implements Architecture {

    @Override
    public String name() {
        return "qwen3moe";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("qwen3moe");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("Qwen3MoeForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return new Qwen3().configure(common);
    }

    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        return GgufExperts.read(configured, md, prefix, new GgufExperts.Defaults(true, 0, false, true));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
