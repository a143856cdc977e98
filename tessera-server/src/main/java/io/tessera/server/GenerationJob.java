package io.tessera.server;

import io.tessera.engine.GenerateParams;
import java.util.List;

/**
 * One parsed {@code /v1/completions} or {@code /v1/chat/completions} request: its prompts as token
 * ids (each prompt is one engine request) and how to generate and answer.
 */
record GenerationJob(Kind kind, List<int[]> prompts, List<String> promptTexts, GenerateParams params, boolean stream,
        boolean includeUsage, boolean echo, boolean logprobs, long arrivalNanos, ToolRequest tools) {

    enum Kind { COMPLETION, CHAT }

    /** The request field that holds the prompt, as errors name it. */
    String promptField() {
        return kind == Kind.CHAT ? "messages" : "prompt";
    }
}
