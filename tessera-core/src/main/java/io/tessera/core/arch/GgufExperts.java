package io.tessera.core.arch;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.MoeOptions;

/**
 * The GGUF keys of a mixture-of-experts model ({@link MoeOptions}), llama.cpp's names:
 * {@code <arch>.expert_count}, {@code expert_used_count}, {@code expert_feed_forward_length},
 * {@code expert_shared_feed_forward_length}, {@code expert_gating_func} (1 softmax, 2 sigmoid),
 * {@code expert_weights_norm}, {@code expert_weights_scale} (0 or absent: none) and
 * {@code leading_dense_block_count}. A family reads them in its {@code readGguf} with its own
 * defaults (llama.cpp fixes some per family: Mixtral and Qwen 3 MoE renormalise the chosen
 * experts' weights, Qwen 2 MoE and OLMoE do not); the writer writes them all.
 */
public final class GgufExperts {

    /** More experts than any released model has by far; bounds what a damaged header can ask for. */
    static final int MAX_EXPERTS = 1 << 12;

    private GgufExperts() {
    }

    /**
     * The family's defaults for the keys a file may leave out.
     *
     * @param required whether the family has experts in every file (refused without {@code expert_count})
     * @param expertHiddenDim each expert's width when {@code expert_feed_forward_length} is absent;
     *     0 for {@code feed_forward_length / expert_used_count} (llama.cpp's Qwen MoE fallback)
     * @param sharedExpertGated a shared expert with a per-token gate (Qwen 2 MoE), of
     *     {@code expert_shared_feed_forward_length} or else the model's {@code feed_forward_length};
     *     otherwise a shared expert only where the file gives its width, ungated
     * @param normalizeTopK whether the chosen experts' weights are renormalised unless the file says
     */
    public record Defaults(boolean required, int expertHiddenDim, boolean sharedExpertGated, boolean normalizeTopK) {
    }

    /** {@code cfg} with the file's experts, or unchanged for a dense file of a family that may be dense. */
    public static ModelConfig read(ModelConfig cfg, GgufMetadata md, String p, Defaults defaults)
            throws ModelFormatException {
        String countKey = p + "expert_count";
        long experts = md.getLong(countKey, 0);
        if (experts == 0 && !defaults.required()) {
            return cfg;
        }
        if (experts < 2 || experts > MAX_EXPERTS) {
            throw new ModelFormatException(md.file(), "key '" + countKey + "'", "value " + experts
                    + " is out of range (2.." + MAX_EXPERTS + ")");
        }
        String usedKey = p + "expert_used_count";
        long used = md.getLong(usedKey, 0);
        if (used < 1 || used > experts) {
            throw new ModelFormatException(md.file(), "key '" + usedKey + "'", "value " + used
                    + " is out of range (1.." + experts + ")");
        }
        String gatingKey = p + "expert_gating_func";
        ExpertGating gating = ExpertGating.SOFTMAX;
        if (md.contains(gatingKey)) {
            try {
                gating = ExpertGating.ofGguf(md.getLong(gatingKey));
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(md.file(), "key '" + gatingKey + "'", e.getMessage());
            }
        }
        float scale = md.getFloat(p + "expert_weights_scale", 0f);
        MoeOptions moe = new MoeOptions((int) experts, (int) used,
                positive(md, p + "expert_feed_forward_length", defaults.expertHiddenDim() > 0 ? defaults.expertHiddenDim()
                        : cfg.hiddenDim() / (int) used),
                sharedHidden(md, p + "expert_shared_feed_forward_length", defaults.sharedExpertGated() ? cfg.hiddenDim() : 0),
                defaults.sharedExpertGated(), gating, md.getBoolean(p + "expert_weights_norm", defaults.normalizeTopK()),
                scale == 0f ? 1f : scale, md.getInt(p + "leading_dense_block_count", 0));
        return cfg.withMoe(moe);
    }

    /** A shared expert's width: the key's, else {@code fallback} (0: none). */
    private static int sharedHidden(GgufMetadata md, String key, int fallback) throws ModelFormatException {
        return md.contains(key) || fallback > 0 ? positive(md, key, fallback) : 0;
    }

    private static int positive(GgufMetadata md, String key, int fallback) throws ModelFormatException {
        long v = md.getLong(key, fallback);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw new ModelFormatException(md.file(), "key '" + key + "'", "value " + v + " must be positive");
        }
        return (int) v;
    }

    /** Writes the keys {@link #read} reads, for a model with experts; nothing for a dense one. */
    public static void write(ModelConfig cfg, GgufWriter w) {
        MoeOptions moe = cfg.moe();
        if (!moe.enabled()) {
            return;
        }
        String a = cfg.architecture() + ".";
        w.putUInt32(a + "expert_count", moe.experts());
        w.putUInt32(a + "expert_used_count", moe.expertsUsed());
        w.putUInt32(a + "expert_feed_forward_length", moe.expertHiddenDim());
        if (moe.sharedHiddenDim() > 0) {
            w.putUInt32(a + "expert_shared_feed_forward_length", moe.sharedHiddenDim());
        }
        w.putUInt32(a + "expert_gating_func", moe.gating().ggufValue);
        w.putBool(a + "expert_weights_norm", moe.normalizeTopK());
        if (moe.weightsScale() != 1f) {
            w.putFloat32(a + "expert_weights_scale", moe.weightsScale());
        }
        if (moe.leadingDenseLayers() > 0) {
            w.putUInt32(a + "leading_dense_block_count", moe.leadingDenseLayers());
        }
    }
}
