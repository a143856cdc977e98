package io.tessera.server;

import io.tessera.engine.GenerateParams;
import io.tessera.engine.connector.KvTransfer;
import java.util.List;

/**
 * One parsed {@code /v1/completions} or {@code /v1/chat/completions} request: its prompts as token
 * ids (each prompt is one engine request) and how to generate and answer.
 *
 * @param kvTransfer the request's part in a prefill/decode exchange; null for none
 */
record GenerationJob(Kind kind, List<int[]> prompts, List<String> promptTexts, GenerateParams params, boolean stream,
        boolean includeUsage, boolean echo, boolean logprobs, long arrivalNanos, ToolRequest tools,
        KvTransfer kvTransfer) {

    enum Kind { COMPLETION, CHAT }

    /** The request field that holds the prompt, as errors name it. */
    String promptField() {
        return kind == Kind.CHAT ? "messages" : "prompt";
    }
}
