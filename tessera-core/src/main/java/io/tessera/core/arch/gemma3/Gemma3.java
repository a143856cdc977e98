package io.tessera.core.arch.gemma3;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.GgufHyperparameters;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * Gemma 3 (text): a NeoX-rotary decoder with per-head Q/K RMSNorm, a GeGLU feed-forward (GELU's
 * tanh form), token embeddings scaled by √dim, each block's output RMS-normalised before the
 * residual add ({@code post_attention_norm}, {@code post_ffw_norm}) and tied embeddings. Five of
 * every six layers are local: they attend within {@code attention.sliding_window} positions and
 * rotate with base 10000 and no rope scaling; each sixth layer is global, with the file's base
 * (1e6) and scaling (linear 8 for 4B and larger). No soft-capping (Gemma 2 had it).
 *
 * <p>Hugging Face's RMSNorm multiplies by {@code 1 + w}; llama.cpp's converter stores {@code w + 1}
 * in the GGUF file, so the norms here are the plain ones and a checkpoint's norm vectors get the
 * 1 added as they are read ({@code io.tessera.core.hf.HfConfig#normWeightOffset}). The GGUF file carries no
 * {@code query_pre_attn_scalar}: as llama.cpp, the scores are scaled by {@code 1/√headDim}, except
 * for the 27B model (62 layers), whose scalar is {@code dim / heads}.
 */
public final class Gemma3 implements Architecture {

    /** Every sixth layer is global (Hugging Face's {@code sliding_window_pattern}). */
    static final int SLIDING_WINDOW_PATTERN = 6;
    /** The rotary base of the local layers (Hugging Face's {@code rope_local_base_freq}). */
    static final float LOCAL_ROPE_THETA = 10000f;
    /** The layer count of Gemma 3 27B, the one size whose query_pre_attn_scalar is not its head dimension. */
    private static final int LAYERS_27B = 62;

    @Override
    public String name() {
        return "gemma3";
    }

    @Override
    public List<String> ggufNames() {
        return List.of("gemma3");
    }

    @Override
    public List<String> huggingFaceNames() {
        // the multimodal checkpoint's language model; its vision tower is not loaded
        return List.of("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration");
    }

    @Override
    public ModelConfig configure(ModelConfig common) {
        float queryPreAttnScalar = common.layers() == LAYERS_27B ? (float) common.dim() / common.heads()
                : common.headDim();
        return common.withRope(RopeStyle.NEOX, common.ropeScaling())
                .withAttention(common.attention().withQkNorm(true)
                        .withLocalLayers(SLIDING_WINDOW_PATTERN, LOCAL_ROPE_THETA)
                        .withScoreScale((float) (1.0 / Math.sqrt(queryPreAttnScalar))))
                .withFeedForward(FeedForwardKind.GEGLU)
                .withEmbeddingScaleAndPostNorms((float) Math.sqrt(common.dim()), true);
    }

    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        String window = prefix + "attention.sliding_window";
        if (!md.contains(window)) {
            // without it the local layers would silently attend to the whole context
            throw new ModelFormatException(md.file(), window, "is missing: Gemma 3's local layers need their window");
        }
        return GgufHyperparameters.withWindowAndSoftcaps(configured, md, prefix);
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
