package io.tessera.core.arch.gemma3;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.DecoderBlocks;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufArray;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufValueType;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.AttentionOptions;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import java.util.List;

/**
 * Gemma 3 (text): a NeoX-rotary decoder with per-head Q/K RMSNorm, a GeGLU feed-forward (GELU's
 * tanh form), token embeddings scaled by √dim, each block's output RMS-normalised before the
 * residual add ({@code post_attention_norm}, {@code post_ffw_norm}) and tied embeddings. Five of
 * every six layers are local (in the released models): they attend within
 * {@code attention.sliding_window} positions and rotate with base 10000 and no rope scaling; each
 * sixth layer is global, with the file's base (1e6) and scaling (linear 8 for 4B and larger). No
 * attention soft-capping (Gemma 2 had it); see {@link #readGguf} for the keys that vary this.
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

    /**
     * Gemma 3's GGUF keys, as llama.cpp reads them: without {@code attention.sliding_window} (or
     * with 0) every layer is global, as llama.cpp's converter writes a checkpoint whose
     * {@code sliding_window_pattern} is 1; with it, {@code attention.sliding_window_pattern} tells
     * which layers are local, a period {@code n} (every layer but each n-th; 0: all) or one bool per
     * layer (true: local), by default 6, and {@code rope.freq_base_swa} their rotary base (10000).
     * {@code final_logit_softcapping} is applied; {@code attn_logit_softcapping} is not read, as
     * llama.cpp does not read it for Gemma 3.
     */
    @Override
    public ModelConfig readGguf(ModelConfig configured, GgufMetadata md, String prefix) throws ModelFormatException {
        int window = md.getInt(prefix + "attention.sliding_window", 0);
        if (window < 0) {
            throw new ModelFormatException(md.file(), prefix + "attention.sliding_window", "must not be negative, got "
                    + window);
        }
        float localTheta = md.getFloat(prefix + "rope.freq_base_swa", LOCAL_ROPE_THETA);
        if (!(localTheta > 0) || !Float.isFinite(localTheta)) {
            throw new ModelFormatException(md.file(), prefix + "rope.freq_base_swa", "must be a positive finite"
                    + " number, got " + localTheta);
        }
        int pattern = window > 0 ? slidingWindowPattern(md, prefix + "attention.sliding_window_pattern",
                configured.layers()) : SLIDING_WINDOW_PATTERN;
        return configured.withAttention(configured.attention().withSlidingWindow(window)
                        .withLocalLayers(pattern, localTheta))
                .withFinalLogitSoftcap(md.getFloat(prefix + "final_logit_softcapping", 0f));
    }

    /** The local layers' period: the key's number, or the period its per-layer bools follow. */
    private static int slidingWindowPattern(GgufMetadata md, String key, int layers) throws ModelFormatException {
        if (!md.contains(key)) {
            return SLIDING_WINDOW_PATTERN;
        }
        if (md.type(key) != GgufValueType.ARRAY) {
            int n = md.getInt(key);
            if (n < 0) {
                throw new ModelFormatException(md.file(), key, "must not be negative, got " + n);
            }
            return n;
        }
        GgufArray flags = md.getArray(key);
        if (flags.length() != layers) {
            throw new ModelFormatException(md.file(), key, "must hold one flag per layer (" + layers + "), got "
                    + flags.length());
        }
        boolean[] local = new boolean[layers];
        for (int l = 0; l < layers; l++) {
            local[l] = switch (flags.elementType()) {
                case BOOL -> flags.getBoolean(l);
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> flags.getLong(l) != 0;
                default -> throw new ModelFormatException(md.file(), key, "must hold bools or integers, got "
                        + flags.elementType());
            };
        }
        int pattern = AttentionOptions.patternOf(local);
        int off = AttentionOptions.firstLayerOffPattern(local, pattern);
        if (off >= 0) {
            throw new ModelFormatException(md.file(), key + "[" + off + "]", "global layers must recur with period "
                    + pattern + " (every layer but each n-th local); layer " + off + " breaks it");
        }
        return pattern;
    }

    /** The keys {@link #readGguf} reads beyond the shared ones, where they differ from its defaults. */
    @Override
    public void writeGguf(ModelConfig config, GgufWriter w, String prefix) {
        AttentionOptions a = config.attention();
        if (a.slidingWindow() > 0 && a.slidingWindowPattern() != SLIDING_WINDOW_PATTERN) {
            w.putUInt32(prefix + "attention.sliding_window_pattern", a.slidingWindowPattern());
        }
        if (a.slidingWindow() > 0 && a.localRopeTheta() != LOCAL_ROPE_THETA) {
            w.putFloat32(prefix + "rope.freq_base_swa", a.localRopeTheta());
        }
    }

    @Override
    public Model bind(ModelConfig config, TensorSource tensors) throws ModelFormatException {
        return DecoderBlocks.bind(config, tensors, null);
    }
}
