package io.tessera.engine;

/**
 * The pooled final hidden state of one input (not normalised: the API decides that).
 *
 * @param tokens input tokens that went through the model
 */
public record Embedding(String requestId, float[] vector, int tokens) {

    public Embedding {
        vector = vector.clone();
    }

    @Override
    public float[] vector() {
        return vector.clone();
    }
}
