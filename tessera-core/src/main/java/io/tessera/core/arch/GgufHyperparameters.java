package io.tessera.core.arch;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelValidation;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The GGUF {@code <arch>.*} keys every decoder family shares, read into a {@link ModelConfig} (the
 * family's own choices applied by {@link Architecture#configure}) and written back by the GGUF
 * writer. Key names are llama.cpp's ({@code LLM_KV_*}).
 */
public final class GgufHyperparameters {

    private GgufHyperparameters() {
    }

    /** The family named by {@code general.architecture}; an unknown name is refused with the supported ones. */
    public static Architecture architecture(GgufFile gguf) throws ModelFormatException {
        String name = gguf.metadata().getString("general.architecture");
        return Architectures.forGguf(name).orElseThrow(() -> new ModelFormatException(gguf.path(),
                "general.architecture", "architecture '" + name + "' is not supported (supported: "
                        + String.join(", ", Architectures.ggufNames()) + ")"));
    }

    /** Reads the configuration only: no tensor data is touched. */
    public static ModelConfig read(GgufFile gguf) throws ModelFormatException {
        Architecture family = architecture(gguf);
        GgufMetadata md = gguf.metadata();
        Path file = gguf.path();
        String arch = md.getString("general.architecture");
        String p = arch + ".";
        ModelValidation.checkHyperparameters(md, p);
        int dim = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        if (heads <= 0 || dim <= 0) {
            throw new ModelFormatException(file, p + "attention.head_count", "head count " + heads
                    + " and embedding length " + dim + " must be positive");
        }
        int headDim = md.getInt(p + "attention.key_length", dim / heads);
        Tensor embedding = gguf.tensor(TensorNames.TOKEN_EMBEDDING);
        long[] ed = embedding.dims();
        int vocab = md.getInt(p + "vocab_size", ed.length == 2 ? (int) Math.min(Integer.MAX_VALUE, ed[1]) : -1);
        try {
            ModelConfig common = new ModelConfig(arch, dim, md.getInt(p + "feed_forward_length"),
                    md.getInt(p + "block_count"), heads, kvHeads, headDim, vocab, md.getInt(p + "context_length"),
                    md.getFloat(p + "rope.freq_base", 10000f), RopeStyle.INTERLEAVED,
                    md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f));
            ModelConfig cfg = family.configure(common);
            int rotaryDim = md.getInt(p + "rope.dimension_count", headDim);
            if (rotaryDim != headDim) {
                if (!family.partialRotary()) {
                    throw new ModelFormatException(file, "key '" + p + "rope.dimension_count'", "value " + rotaryDim
                            + " differs from the head dimension " + headDim + ", which the " + family.name()
                            + " family does not support");
                }
                if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
                    throw new ModelFormatException(file, "key '" + p + "rope.dimension_count'", rotaryDim
                            + " must be even, positive and at most the head dimension " + headDim);
                }
                cfg = cfg.withAttention(cfg.attention().withRotaryDim(rotaryDim));
            }
            cfg = cfg.withRope(cfg.ropeStyle(), ropeScaling(md, p, cfg.ropeScaling(), cfg.contextLength()));
            return family.readGguf(cfg, md, p);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, p + "*", e.getMessage());
        }
    }

    /**
     * The {@code rope.scaling.*} keys (or the older {@code rope.scale_linear}). Llama 3.1's scaling
     * has no keys: its factors are the {@code rope_freqs.weight} tensor. YaRN (llama.cpp's names):
     * {@code factor}, {@code original_context_length} (else the model's context, as llama.cpp falls
     * back to it), {@code yarn_beta_fast} (32), {@code yarn_beta_slow} (1), and the magnitude
     * {@code 0.1·ln(factor) + 1} times {@code attn_factor} (1). {@code yarn_ext_factor} other than 1
     * and {@code yarn_log_multiplier} (DeepSeek) are refused by name.
     */
    private static RopeScaling ropeScaling(GgufMetadata md, String p, RopeScaling fallback, int context)
            throws ModelFormatException {
        String typeKey = p + "rope.scaling.type";
        if (!md.contains(typeKey)) {
            float linear = md.getFloat(p + "rope.scale_linear", 1f);
            return linear != 1f ? RopeScaling.linear(linear) : fallback;
        }
        String type = md.getString(typeKey).toLowerCase(Locale.ROOT);
        float factor = md.getFloat(p + "rope.scaling.factor", 1f);
        return switch (type) {
            case "none" -> RopeScaling.NONE;
            case "linear" -> factor == 1f ? RopeScaling.NONE : RopeScaling.linear(factor);
            case "yarn" -> {
                String ext = p + "rope.scaling.yarn_ext_factor";
                if (md.contains(ext) && md.getFloat(ext) != 1f) {
                    throw new ModelFormatException(md.file(), ext, "yarn with an extrapolation mix of "
                            + md.getFloat(ext) + " is not supported (only 1, llama.cpp's default)");
                }
                String logMul = p + "rope.scaling.yarn_log_multiplier";
                if (md.contains(logMul) && md.getFloat(logMul) != 0f) {
                    throw new ModelFormatException(md.file(), logMul, "is not supported (DeepSeek's yarn magnitude)");
                }
                String fastKey = p + "rope.scaling.yarn_beta_fast";
                float fast = md.getFloat(fastKey, RopeScaling.YARN_BETA_FAST);
                float slow = md.getFloat(p + "rope.scaling.yarn_beta_slow", RopeScaling.YARN_BETA_SLOW);
                if (!(fast > slow && slow > 0) || !Float.isFinite(fast)) {
                    throw new ModelFormatException(md.file(), fastKey, "yarn needs beta_fast > beta_slow > 0, got "
                            + fast + " and " + slow);
                }
                float magnitude = RopeScaling.yarnMagnitude(factor, 0f, 0f) * md.getFloat(p + "rope.scaling.attn_factor", 1f);
                yield RopeScaling.yarn(factor, md.getInt(p + "rope.scaling.original_context_length", context), fast,
                        slow, magnitude);
            }
            default -> throw new ModelFormatException(md.file(), typeKey, "rope scaling '" + type
                    + "' is not supported (supported: none, linear, yarn)");
        };
    }

    /** Writes {@code cfg} as the {@code <arch>.*} keys {@link #read} reads back. */
    public static void write(ModelConfig cfg, GgufWriter w) {
        String a = cfg.architecture();
        w.putUInt32(a + ".context_length", cfg.contextLength());
        w.putUInt32(a + ".embedding_length", cfg.dim());
        w.putUInt32(a + ".block_count", cfg.layers());
        w.putUInt32(a + ".feed_forward_length", cfg.hiddenDim());
        w.putUInt32(a + ".attention.head_count", cfg.heads());
        w.putUInt32(a + ".attention.head_count_kv", cfg.kvHeads());
        w.putUInt32(a + ".attention.key_length", cfg.headDim());
        w.putUInt32(a + ".attention.value_length", cfg.headDim());
        w.putUInt32(a + ".rope.dimension_count", cfg.attention().rotaryDim(cfg.headDim()));
        w.putFloat32(a + ".rope.freq_base", cfg.ropeTheta());
        w.putFloat32(a + ".attention.layer_norm_rms_epsilon", cfg.rmsEps());
        w.putUInt32(a + ".vocab_size", cfg.vocabSize());
        RopeScaling s = cfg.ropeScaling();
        switch (s.type()) {
            case LINEAR -> {
                w.putString(a + ".rope.scaling.type", "linear");
                w.putFloat32(a + ".rope.scaling.factor", s.factor());
            }
            case YARN -> {
                w.putString(a + ".rope.scaling.type", "yarn");
                w.putFloat32(a + ".rope.scaling.factor", s.factor());
                w.putUInt32(a + ".rope.scaling.original_context_length", s.originalContext());
                w.putFloat32(a + ".rope.scaling.yarn_beta_fast", s.betaFast());
                w.putFloat32(a + ".rope.scaling.yarn_beta_slow", s.betaSlow());
                // llama.cpp derives 0.1·ln(factor) + 1 itself; the key carries what the config adds to it
                float extra = s.attentionFactor() / RopeScaling.yarnMagnitude(s.factor(), 0f, 0f);
                if (extra != 1f) {
                    w.putFloat32(a + ".rope.scaling.attn_factor", extra);
                }
            }
            case LONGROPE -> {
                // Phi-3's: the factor lists are tensors (rope_factors_short/long), as llama.cpp's converter writes
                w.putUInt32(a + ".rope.scaling.original_context_length", s.originalContext());
                w.putFloat32(a + ".rope.scaling.attn_factor", s.attentionFactor());
            }
            case NONE, LLAMA3 -> { }
        }
        if (cfg.attention().slidingWindow() > 0) {
            w.putUInt32(a + ".attention.sliding_window", cfg.attention().slidingWindow());
        }
        if (cfg.attention().logitSoftcap() > 0) {
            w.putFloat32(a + ".attn_logit_softcapping", cfg.attention().logitSoftcap());
        }
        if (cfg.finalLogitSoftcap() > 0) {
            w.putFloat32(a + ".final_logit_softcapping", cfg.finalLogitSoftcap());
        }
        GgufExperts.write(cfg, w);
        Architectures.forGguf(a).ifPresent(family -> family.writeGguf(cfg, w, a + "."));
    }
}
