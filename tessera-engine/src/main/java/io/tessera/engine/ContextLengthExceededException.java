package io.tessera.engine;

/**
 * A prompt, or a prompt with the tokens it asks to generate, that does not fit the context. Its
 * parameter is {@code max_tokens} when the request asked for a number of tokens (prompt and that
 * number together pass the context), else {@code prompt} (no room for even one token, or an input
 * read whole that is too long).
 */
public final class ContextLengthExceededException extends RequestRejectedException {

    private final int contextLength;
    private final int promptTokens;
    private final int maxTokens;

    ContextLengthExceededException(int contextLength, int promptTokens, int maxTokens, String message) {
        super(maxTokens > 0 ? "max_tokens" : "prompt", message);
        this.contextLength = contextLength;
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
    }

    public int contextLength() {
        return contextLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    /** The tokens asked for per sample; 0 when none were (the rest of the context, or an input read whole). */
    public int maxTokens() {
        return maxTokens;
    }
}
