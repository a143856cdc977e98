package io.tessera.engine.spec;

/**
 * Speculative decoding settings. With prompt lookup (n-gram) speculation, each decoding sequence
 * looks up its last n tokens ({@code promptLookupMax} down to {@code promptLookupMin}) earlier in its
 * own prompt and output; the tokens that followed that occurrence, up to
 * {@code numSpeculativeTokens}, are proposed and verified by the target model in the same step as
 * the sequence's next token.
 *
 * @param numSpeculativeTokens tokens proposed per sequence and step at most; 0 turns speculation off
 * @param promptLookupMin shortest n-gram matched
 * @param promptLookupMax longest n-gram matched (tried first)
 */
public record SpeculativeConfig(int numSpeculativeTokens, int promptLookupMin, int promptLookupMax) {

    /** Bounds the verify chunk: every proposed token costs a logits row whether accepted or not. */
    public static final int MAX_SPECULATIVE_TOKENS = 32;
    public static final int DEFAULT_PROMPT_LOOKUP_MIN = 1;
    public static final int DEFAULT_PROMPT_LOOKUP_MAX = 4;

    public SpeculativeConfig {
        if (numSpeculativeTokens < 0 || numSpeculativeTokens > MAX_SPECULATIVE_TOKENS) {
            throw new IllegalArgumentException("--num-speculative-tokens must be in [0, " + MAX_SPECULATIVE_TOKENS
                    + "], got " + numSpeculativeTokens);
        }
        if (promptLookupMin < 1) {
            throw new IllegalArgumentException("--prompt-lookup-min must be at least 1, got " + promptLookupMin);
        }
        if (promptLookupMax < promptLookupMin) {
            throw new IllegalArgumentException("--prompt-lookup-max (" + promptLookupMax
                    + ") must be at least --prompt-lookup-min (" + promptLookupMin + ")");
        }
    }

    /** No speculation. */
    public static SpeculativeConfig off() {
        return new SpeculativeConfig(0, DEFAULT_PROMPT_LOOKUP_MIN, DEFAULT_PROMPT_LOOKUP_MAX);
    }

    /** N-gram speculation of up to {@code k} tokens with the default n-gram lengths. */
    public static SpeculativeConfig ngram(int k) {
        return new SpeculativeConfig(k, DEFAULT_PROMPT_LOOKUP_MIN, DEFAULT_PROMPT_LOOKUP_MAX);
    }

    public boolean enabled() {
        return numSpeculativeTokens > 0;
    }
}
