package io.tessera.engine;

/**
 * A request to embed one input: its token ids go through the model as a prompt does (batched with
 * other requests, chunked, under the same KV and batch limits), and the final hidden states are
 * pooled into one vector; nothing is generated.
 *
 * @param id unique among the engine's live requests; null lets the engine choose one
 * @param tokens the input, at least one token and at most the context length
 */
public record EmbeddingRequest(String id, int[] tokens, Pooling pooling) {

    public EmbeddingRequest {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("an embedding input must have at least one token");
        }
        if (pooling == null) {
            throw new IllegalArgumentException("a pooling is required");
        }
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    int[] tokensUnsafe() {
        return tokens;
    }

    public EmbeddingRequest withId(String newId) {
        return new EmbeddingRequest(newId, tokens, pooling);
    }
}
