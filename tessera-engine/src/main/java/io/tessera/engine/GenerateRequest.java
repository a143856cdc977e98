package io.tessera.engine;

import io.tessera.engine.connector.KvTransfer;

/**
 * A request to the engine: a prompt of token ids and how to generate from it.
 *
 * @param id unique among the engine's live requests; null lets the engine choose one
 * @param kvTransfer its part in a prefill/decode disaggregated exchange, or null
 */
public record GenerateRequest(String id, int[] promptTokens, GenerateParams params, KvTransfer kvTransfer) {

    public GenerateRequest(String id, int[] promptTokens, GenerateParams params) {
        this(id, promptTokens, params, null);
    }

    public GenerateRequest {
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt must have at least one token");
        }
        if (params == null) {
            throw new IllegalArgumentException("generation parameters are required");
        }
        promptTokens = promptTokens.clone();
    }

    @Override
    public int[] promptTokens() {
        return promptTokens.clone();
    }

    int promptLength() {
        return promptTokens.length;
    }

    int[] promptUnsafe() {
        return promptTokens;
    }

    public GenerateRequest withId(String newId) {
        return new GenerateRequest(newId, promptTokens, params, kvTransfer);
    }

    public GenerateRequest withKvTransfer(KvTransfer transfer) {
        return new GenerateRequest(id, promptTokens, params, transfer);
    }
}
