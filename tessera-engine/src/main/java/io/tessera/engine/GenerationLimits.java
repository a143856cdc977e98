package io.tessera.engine;

/**
 * The limits every request is checked against, in one place: prompt and output within the
 * context, {@code max_tokens} 0 meaning the rest of the context, and the number of samples within
 * what runs at once. The engine checks each request on submission; a server checks the same
 * before admitting a request (with the context it serves, which may be shorter than the model's).
 *
 * @param contextLength tokens of prompt and output together at most
 * @param maxSeqs sequences the scheduler runs at once (all samples of a request run together)
 */
public record GenerationLimits(int contextLength, int maxSeqs) {

    /** Samples a request may ask for at most: {@link GenerateParams#MAX_N}, or fewer when fewer run at once. */
    public int maxSamples() {
        return Math.min(GenerateParams.MAX_N, maxSeqs);
    }

    /**
     * Checks a request's number of samples.
     *
     * @throws RequestRejectedException with parameter {@code n} when it is not in 1..{@link #maxSamples()}
     */
    public void checkSamples(int n) {
        int max = maxSamples();
        if (n < 1 || n > max) {
            throw new RequestRejectedException("n", "n must be in 1.." + max + ", got " + n
                    + (n > max && max < GenerateParams.MAX_N ? " (the running limit is " + max + " sequences)" : ""));
        }
    }

    /**
     * Tokens a request may generate per sample: {@code maxTokens}, or for 0 the rest of the context.
     *
     * @throws ContextLengthExceededException when the prompt leaves no room for one token, or the
     *     prompt and {@code maxTokens} together pass the context
     */
    public int maxTokens(int promptTokens, int maxTokens) {
        if (promptTokens >= contextLength) {
            throw new ContextLengthExceededException(contextLength, promptTokens, maxTokens, "the prompt has "
                    + promptTokens + " tokens; the model's context length is " + contextLength
                    + " and at least one token must be generated");
        }
        if (maxTokens == 0) {
            return contextLength - promptTokens;
        }
        if (promptTokens + maxTokens > contextLength) {
            throw new ContextLengthExceededException(contextLength, promptTokens, maxTokens, "prompt ("
                    + promptTokens + " tokens) + max tokens (" + maxTokens + ") exceeds the context length "
                    + contextLength);
        }
        return maxTokens;
    }

    /**
     * Checks an input that is read whole and generates nothing (an embedding, a tokenization).
     *
     * @throws ContextLengthExceededException when it has more tokens than the context
     */
    public void checkInput(int tokens) {
        if (tokens > contextLength) {
            throw new ContextLengthExceededException(contextLength, tokens, 0, "the input has " + tokens
                    + " tokens; the model's context length is " + contextLength);
        }
    }
}
