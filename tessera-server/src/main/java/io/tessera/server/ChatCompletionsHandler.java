package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.tessera.engine.GenerateParams;
import java.io.IOException;
import java.util.List;

/**
 * {@code /v1/chat/completions}, field by field after OpenAI's API reference with vLLM's extra
 * sampling fields: {@code messages} rendered by the chat template, tools and {@code tool_choice},
 * {@code logprobs}/{@code top_logprobs} and {@code max_completion_tokens}; the run is {@link
 * GenerationRunner}'s.
 */
final class ChatCompletionsHandler {

    private final ServedModel model;
    private final ChatPromptRenderer renderer;
    private final PromptEncoder encoder;
    private final GenerateParamsParser paramsParser;
    private final StructuredOutput structured;
    private final GenerationRunner runner;

    ChatCompletionsHandler(ServedModel model, ChatPromptRenderer renderer, PromptEncoder encoder,
            GenerateParamsParser paramsParser, StructuredOutput structured, GenerationRunner runner) {
        this.model = model;
        this.renderer = renderer;
        this.encoder = encoder;
        this.paramsParser = paramsParser;
        this.structured = structured;
        this.runner = runner;
    }

    void handle(Context ctx, JsonNode body, long arrival) throws IOException {
        runner.run(parse(body, arrival), ctx);
    }

    private GenerationJob parse(JsonNode body, long arrival) {
        RequestFields.check(body, GenerationJob.Kind.CHAT);
        RequestFields.checkModel(body, model);
        ToolRequest tools = renderer.toolRequest(body);
        String prompt = renderer.render(body, tools);
        int[] ids = encoder.encodeChat(prompt);
        boolean logprobs = Fields.bool(body, "logprobs", false);
        Integer top = Fields.integer(body, "top_logprobs", null);
        if (top != null && (top < 0 || top > GenerateParams.MAX_LOGPROBS)) {
            throw ApiException.badParam("top_logprobs", "'top_logprobs' must be in 0.." + GenerateParams.MAX_LOGPROBS
                    + ", got " + top);
        }
        if (top != null && top > 0 && !logprobs) {
            throw ApiException.badParam("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        }
        String maxTokensField = Fields.present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Integer maxTokens = Fields.integer(body, maxTokensField, null);
        int logprobCount = logprobs ? (top == null ? 0 : top) : -1;
        GenerateParams params = paramsParser.parse(body, maxTokensField, maxTokens, logprobCount);
        if (tools.forced()) {
            if (params.constraint() != null) {
                throw ApiException.badParam("tool_choice", "'tool_choice' " + tools.choice() + " constrains the reply"
                        + " to tool calls, so it cannot be combined with " + params.constraint().description());
            }
            params = params.withConstraint(structured.compile("tool_choice", tools.languageKey(), tools::language));
        }
        boolean stream = Fields.bool(body, "stream", false);
        return new GenerationJob(GenerationJob.Kind.CHAT, List.of(ids), List.of(prompt), params, stream,
                GenerateParamsParser.includeUsage(body, stream), false, logprobs, arrival, tools,
                paramsParser.kvTransfer(body, 1, stream));
    }
}
