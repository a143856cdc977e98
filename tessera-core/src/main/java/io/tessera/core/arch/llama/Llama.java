package io.tessera.core.arch.llama;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.GgufExperts;
import io.tessera.core.arch.TensorNames;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * Llama 1/2/3 and Mistral (the same code in llama.cpp): a pre-norm decoder with grouped-query
 * attention and no biases, rotary embeddings on interleaved pairs (GGUF's converter permutes the
 * Q and K rows of a Hugging Face checkpoint so that they are), a SwiGLU feed-forward. Llama 3.1+
 * files store their rope scaling as the {@code rope_freqs.weight} tensor. llama2.c checkpoints are
 * bound by this family too.
 *
 * <p>Mistral's sliding window (Mistral 7B v0.1's {@code sliding_window} of 4096 in
 * {@code config.json}, {@code attention.sliding_window} in a GGUF file) is not applied: llama.cpp
 * runs Mistral as {@code llama} and reads no window for it, so every layer attends to the whole
 * context. The two differ from Hugging Face's Mistral 7B v0.1 only past 4096 positions.
 *
 * <p>Mixtral is this family with experts ({@code llama.expert_count}), as in llama.cpp: every
 * layer's feed-forward is a mixture of experts of {@code feed_forward_length} each, chosen by
 * softmax, the chosen ones' weights renormalised; the experts are stacked 3-D tensors or, in older
 * files, one tensor per expert.
 */
public final class Llama implements Architecture {

    @Override
    public String name() {
        return "llama";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("llama", "mistral");
    }

    @Override
    public List<String> huggingFaceNames() {
        return List.of("LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        return common.withRope(RopeStyle.INTERLEAVED, common.ropeScaling());
    }

    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        return GgufExperts.read(configured, md, prefix,
                new GgufExperts.Defaults(false, configured.hiddenDim(), false, true));
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        float[] ropeFactors = tensors.has(TensorNames.ROPE_FREQUENCIES)
                ? tensors.vector(TensorNames.ROPE_FREQUENCIES, config.headDim() / 2)
                : null;
        return DecoderBlocks.bind(config, tensors, ropeFactors);
    }
}
