package io.tessera.engine;

/**
 * Token counts of a request.
 *
 * @param cachedPromptTokens prompt tokens whose KV came from the prefix cache
 */
public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
