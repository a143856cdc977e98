package io.tessera.engine;

import java.util.Locale;

/**
 * How an embedding is pooled from the final hidden states of its input's tokens (after the final
 * norm, before the output head: llama.cpp's {@code result_norm}).
 */
public enum Pooling {
    /** The mean of every token's hidden state (llama.cpp's {@code LLAMA_POOLING_TYPE_MEAN}). */
    MEAN,
    /**
     * The last token's hidden state ({@code LLAMA_POOLING_TYPE_LAST}): in a causal decoder the only
     * token that has attended to the whole input; what decoder embedding models (Qwen3-Embedding,
     * E5-Mistral, GTE-Qwen) are trained with, and vLLM's default for decoder models.
     */
    LAST;

    /** The default when the model names none: {@link #LAST}, as vLLM pools decoder models. */
    public static final Pooling DEFAULT = LAST;

    /**
     * The pooling of llama.cpp's GGUF key {@code <arch>.pooling_type} (its enum
     * {@code llama_pooling_type}: 0 none, 1 mean, 2 cls, 3 last, 4 rank).
     *
     * @throws IllegalArgumentException for a value Tessera does not pool by (none, cls, rank)
     */
    public static Pooling ofLlamaCpp(long code) {
        return switch ((int) Math.max(-1, Math.min(code, 100))) {
            case 1 -> MEAN;
            case 3 -> LAST;
            case 0 -> throw new IllegalArgumentException("pooling_type 0 (none: one vector per token) is not an"
                    + " embedding of the whole input; choose --pooling mean or last");
            case 2 -> throw new IllegalArgumentException("pooling_type 2 (cls: the first token, for encoder models) is"
                    + " not supported; choose --pooling mean or last");
            case 4 -> throw new IllegalArgumentException("pooling_type 4 (rank: a reranker's score) is not supported");
            default -> throw new IllegalArgumentException("unknown pooling_type " + code);
        };
    }

    /** Parses {@code mean} or {@code last}. */
    public static Pooling parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown pooling '" + name + "' (expected mean or last)");
        }
    }

    public String lowerName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
