package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.GenerateParams;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code /v1/completions}, field by field after OpenAI's API reference with vLLM's extra sampling
 * fields: the prompt forms (a string, strings, token ids, arrays of token ids), {@code echo},
 * {@code logprobs} and {@code best_of}; the run is {@link GenerationRunner}'s.
 */
final class CompletionsHandler {

    private final ServedModel model;
    private final PromptEncoder encoder;
    private final GenerateParamsParser paramsParser;
    private final GenerationRunner runner;
    private final int maxPrompts;

    CompletionsHandler(ServedModel model, PromptEncoder encoder, GenerateParamsParser paramsParser,
            GenerationRunner runner, int maxPrompts) {
        this.model = model;
        this.encoder = encoder;
        this.paramsParser = paramsParser;
        this.runner = runner;
        this.maxPrompts = maxPrompts;
    }

    void handle(Context ctx, JsonNode body, long arrival) throws IOException {
        runner.run(parse(body, arrival), ctx);
    }

    private GenerationJob parse(JsonNode body, long arrival) {
        RequestFields.check(body, GenerationJob.Kind.COMPLETION);
        RequestFields.checkModel(body, model);
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.badParam("prompt", "'prompt' is required");
        }
        Tokenizer tok = model.tokenizer();
        List<int[]> ids = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        if (p.isTextual()) {
            ids.add(encoder.encodePrompt(p.asText()));
            texts.add(p.asText());
        } else if (p.isArray()) {
            if (p.isEmpty()) {
                throw ApiException.badParam("prompt", "'prompt' must not be empty");
            }
            if ((p.get(0).isTextual() || p.get(0).isArray()) && p.size() > maxPrompts) {
                throw ApiException.badParam("prompt", "'prompt' may hold at most " + maxPrompts
                        + " prompts per request, got " + p.size());
            }
            JsonNode first = p.get(0);
            if (first.isTextual()) {
                for (JsonNode e : p) {
                    if (!e.isTextual()) {
                        throw promptType();
                    }
                    ids.add(encoder.encodePrompt(e.asText()));
                    texts.add(e.asText());
                }
            } else if (first.isIntegralNumber()) {
                int[] tokens = tokenIds(p);
                ids.add(tokens);
                texts.add(tok.decode(tokens));
            } else if (first.isArray()) {
                for (JsonNode e : p) {
                    if (!e.isArray()) {
                        throw promptType();
                    }
                    int[] tokens = tokenIds(e);
                    ids.add(tokens);
                    texts.add(tok.decode(tokens));
                }
            } else {
                throw promptType();
            }
        } else {
            throw promptType();
        }
        for (int[] tokens : ids) {
            if (tokens.length == 0) {
                throw ApiException.badParam("prompt", "a prompt must have at least one token");
            }
        }
        Integer lp = Fields.integer(body, "logprobs", null);
        if (lp != null && (lp < 0 || lp > GenerateParams.MAX_LOGPROBS)) {
            throw ApiException.badParam("logprobs", "'logprobs' must be in 0.." + GenerateParams.MAX_LOGPROBS
                    + ", got " + lp);
        }
        Integer maxTokens = Fields.integer(body, "max_tokens", 16);
        GenerateParams params = paramsParser.parse(body, "max_tokens", maxTokens, lp == null ? -1 : lp);
        Integer bestOf = Fields.integer(body, "best_of", null);
        if (bestOf != null && bestOf != params.n()) {
            // best_of = n returns every sample, as n alone does; more would need ranking by log-probability
            throw ApiException.badParam("best_of", "'best_of' other than 'n' is not supported by this server (got"
                    + " best_of = " + bestOf + ", n = " + params.n() + ")");
        }
        boolean stream = Fields.bool(body, "stream", false);
        boolean echo = Fields.bool(body, "echo", false);
        return new GenerationJob(GenerationJob.Kind.COMPLETION, ids, texts, params, stream,
                GenerateParamsParser.includeUsage(body, stream), echo, lp != null, arrival, ToolRequest.NONE,
                paramsParser.kvTransfer(body, ids.size(), stream));
    }

    private int[] tokenIds(JsonNode arr) {
        int vocab = model.tokenizer().vocabSize();
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw promptType();
            }
            ids[i] = e.asInt();
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw ApiException.badParam("prompt", "token id " + ids[i] + " is out of range for a vocabulary of "
                        + vocab);
            }
        }
        return ids;
    }

    private static ApiException promptType() {
        return ApiException.badParam("prompt", "'prompt' must be a string, an array of strings, an array of token ids"
                + " or an array of arrays of token ids");
    }
}
