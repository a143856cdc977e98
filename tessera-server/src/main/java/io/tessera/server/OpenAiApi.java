package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.sampling.LogProbs;
import io.tessera.core.sampling.LogitBias;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.FinishReason;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.RequestRejectedException;
import io.tessera.engine.RequestStream;
import io.tessera.engine.Usage;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code /v1/completions} and {@code /v1/chat/completions}, field by field after OpenAI's API
 * reference, with vLLM's extra sampling fields. Both endpoints parse into one {@link Job}: prompts
 * of token ids and generation parameters; each prompt is one engine request; the handler's virtual
 * thread reads the merged output streams and writes either one JSON response or Server-Sent Events.
 */
final class OpenAiApi {

    /**
     * Milliseconds without output after which a streamed request gets an SSE comment line, and a
     * non-streaming one checks that its client is still connected (both find gone clients).
     */
    volatile long keepAliveMs = 1000;

    private final Engine engine;
    private final ServedModel model;
    private final ServerMetrics metrics;
    private final Admission admission;
    private final ObjectMapper json;
    private final Set<RequestStream> active = ConcurrentHashMap.newKeySet();
    private final int maxPrompts;
    private final StructuredOutput structured;
    /** Longest text a prompt within the context can have: the context times the longest token piece. */
    private final long maxPromptChars;

    OpenAiApi(Engine engine, ServedModel model, ServerMetrics metrics, Admission admission, ObjectMapper json,
              int maxPrompts) {
        this.engine = engine;
        this.model = model;
        this.metrics = metrics;
        this.admission = admission;
        this.json = json;
        this.maxPrompts = maxPrompts;
        this.structured = new StructuredOutput(model.tokenizer());
        this.maxPromptChars = (long) model.contextLength() * longestPiece(model.tokenizer());
    }

    /** A token decodes to at most as many characters as its piece has. */
    private static int longestPiece(Tokenizer tok) {
        int longest = 1;
        for (int id = 0; id < tok.vocabSize(); id++) {
            String p = tok.piece(id);
            longest = Math.max(longest, p == null ? 0 : p.length());
        }
        return longest;
    }

    /**
     * Refuses text too long to fit the context whatever its tokens, before spending time on
     * encoding it (the body size limit alone lets megabytes through).
     */
    void checkPromptChars(String text, String param) {
        if (text.length() > maxPromptChars) {
            throw ApiException.badParam(param, "This model's maximum context length is " + model.contextLength()
                    + " tokens, and your " + param + " of " + text.length() + " characters cannot fit in it. Please"
                    + " reduce the length of the " + param + ".");
        }
    }

    /** Aborts every request in flight (shutdown). */
    void abortAll() {
        for (RequestStream s : active) {
            s.cancel();
        }
    }

    enum Kind { COMPLETION, CHAT }

    /** One parsed API request. */
    record Job(Kind kind, List<int[]> prompts, List<String> promptTexts, GenerateParams params, boolean stream,
               boolean includeUsage, boolean echo, boolean logprobs, long arrivalNanos, ToolRequest tools) {
    }

    // ---------------------------------------------------------------- parsing

    Job parseCompletion(JsonNode body, long arrival) {
        RequestFields.check(body, Kind.COMPLETION);
        checkModel(body);
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.badParam("prompt", "'prompt' is required");
        }
        Tokenizer tok = model.tokenizer();
        List<int[]> prompts = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        if (p.isTextual()) {
            prompts.add(encodePrompt(p.asText()));
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
                    prompts.add(encodePrompt(e.asText()));
                    texts.add(e.asText());
                }
            } else if (first.isIntegralNumber()) {
                int[] ids = tokenIds(p);
                prompts.add(ids);
                texts.add(tok.decode(ids));
            } else if (first.isArray()) {
                for (JsonNode e : p) {
                    if (!e.isArray()) {
                        throw promptType();
                    }
                    int[] ids = tokenIds(e);
                    prompts.add(ids);
                    texts.add(tok.decode(ids));
                }
            } else {
                throw promptType();
            }
        } else {
            throw promptType();
        }
        for (int[] ids : prompts) {
            if (ids.length == 0) {
                throw ApiException.badParam("prompt", "a prompt must have at least one token");
            }
        }
        Integer lp = Fields.integer(body, "logprobs", null);
        if (lp != null && (lp < 0 || lp > GenerateParams.MAX_LOGPROBS)) {
            throw ApiException.badParam("logprobs", "'logprobs' must be in 0.." + GenerateParams.MAX_LOGPROBS
                    + ", got " + lp);
        }
        Integer maxTokens = Fields.integer(body, "max_tokens", 16);
        GenerateParams params = params(body, "max_tokens", maxTokens, lp == null ? -1 : lp);
        Integer bestOf = Fields.integer(body, "best_of", null);
        if (bestOf != null && bestOf != params.n()) {
            // best_of = n returns every sample, as n alone does; more would need ranking by log-probability
            throw ApiException.badParam("best_of", "'best_of' other than 'n' is not supported by this server (got"
                    + " best_of = " + bestOf + ", n = " + params.n() + ")");
        }
        boolean stream = Fields.bool(body, "stream", false);
        boolean echo = Fields.bool(body, "echo", false);
        return new Job(Kind.COMPLETION, prompts, texts, params, stream, includeUsage(body, stream), echo, lp != null,
                arrival, ToolRequest.NONE);
    }

    Job parseChat(JsonNode body, long arrival) {
        RequestFields.check(body, Kind.CHAT);
        checkModel(body);
        ToolRequest tools = toolRequest(body);
        String prompt = renderChat(body, tools);
        int[] ids = encodeChat(prompt);
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
        GenerateParams params = params(body, maxTokensField, maxTokens, logprobs ? (top == null ? 0 : top) : -1);
        if (tools.forced()) {
            if (params.constraint() != null) {
                throw ApiException.badParam("tool_choice", "'tool_choice' " + tools.choice() + " constrains the reply"
                        + " to tool calls, so it cannot be combined with " + params.constraint().description());
            }
            params = new GenerateParams(params.sampling(), params.maxTokens(), params.n(), params.stopTokenIds(),
                    params.stop(), params.ignoreEos(), params.logprobs(), params.logitBias(),
                    structured.compile("tool_choice", tools.languageKey(), tools::language));
        }
        boolean stream = Fields.bool(body, "stream", false);
        return new Job(Kind.CHAT, List.of(ids), List.of(prompt), params, stream, includeUsage(body, stream), false,
                logprobs, arrival, tools);
    }

    /** The request's tools, checked against the model's template. */
    private ToolRequest toolRequest(JsonNode body) {
        return ToolRequest.parse(body, model.chatTemplate().source());
    }

    /** The chat prompt as the model's template renders it (for {@code /tokenize}). */
    String renderChat(JsonNode body) {
        return renderChat(body, toolRequest(body));
    }

    private String renderChat(JsonNode body, ToolRequest tools) {
        JsonNode msgs = body.get("messages");
        if (msgs == null || msgs.isNull()) {
            throw ApiException.badParam("messages", "'messages' is required");
        }
        if (!msgs.isArray()) {
            throw Fields.wrongType("messages", "an array of messages", msgs);
        }
        if (msgs.isEmpty()) {
            throw ApiException.badParam("messages", "'messages' must not be empty");
        }
        List<Map<String, Object>> messages = new ArrayList<>();
        List<String> callIds = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.badParam(where, "'" + where + "' must be an object");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badParam(where + ".role", "'" + where + ".role' must be a string");
            }
            String r = role.asText();
            if (!Set.of("system", "developer", "user", "assistant", "tool").contains(r)) {
                throw ApiException.badParam(where + ".role", "unknown role '" + r
                        + "' (expected system, developer, user, assistant or tool)");
            }
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", r.equals("developer") ? "system" : r);
            msg.put("content", content(m.get("content"), where + ".content"));
            if (m.hasNonNull("name") && m.get("name").isTextual()) {
                msg.put("name", m.get("name").asText());
            }
            toolFields(m, r, where, msg, callIds);
            messages.add(msg);
        }
        boolean continueFinal = Fields.bool(body, "continue_final_message", false);
        boolean addGenerationPrompt = Fields.bool(body, "add_generation_prompt", !continueFinal);
        if (continueFinal && addGenerationPrompt) {
            throw ApiException.badParam("continue_final_message", "'continue_final_message' and"
                    + " 'add_generation_prompt' cannot both be true");
        }
        Map<String, Object> variables = ChatTemplateKwargs.parse(body);
        return model.chatTemplate().render(messages, addGenerationPrompt, continueFinal, variables, tools.tools());
    }

    /**
     * An assistant message's {@code tool_calls} and a tool message's {@code tool_call_id}, which
     * must answer a call made earlier in the conversation.
     */
    private static void toolFields(JsonNode m, String role, String where, Map<String, Object> msg,
            List<String> callIds) {
        JsonNode calls = m.get("tool_calls");
        if (calls != null && !calls.isNull()) {
            if (!role.equals("assistant")) {
                throw ApiException.badParam(where + ".tool_calls", "'" + where + ".tool_calls' is only allowed in"
                        + " assistant messages");
            }
            if (!calls.isEmpty()) {
                msg.put("tool_calls", ToolRequest.messageToolCalls(calls, where + ".tool_calls", callIds));
            }
        }
        if (role.equals("tool")) {
            String id = Fields.string(m, "tool_call_id", null);
            if (id == null) {
                throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' is required in"
                        + " tool messages");
            }
            if (!callIds.contains(id)) {
                throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' '" + id
                        + "' answers no tool call of an earlier assistant message");
            }
            msg.put("tool_call_id", id);
        } else if (Fields.present(m, "tool_call_id")) {
            throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' is only allowed in"
                    + " tool messages");
        }
    }

    int[] encodeChat(String prompt) {
        checkPromptChars(prompt, "messages");
        return model.encodeChatPrompt(prompt);
    }

    int[] encodePrompt(String text) {
        checkPromptChars(text, "prompt");
        return model.tokenizer().encode(text, true, false);
    }

    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badParam(where, "only text content parts are supported in '" + where + "'");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.badParam(where, "'" + where + "' must be a string or an array of text parts");
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

    void checkModel(JsonNode body) {
        String name = Fields.string(body, "model", null);
        if (name != null && !name.equals(model.name())) {
            throw ApiException.notFound("The model '" + name + "' does not exist. This server serves '" + model.name()
                    + "'.", "model_not_found");
        }
    }

    private static boolean includeUsage(JsonNode body, boolean stream) {
        JsonNode so = Fields.object(body, "stream_options");
        if (so == null) {
            return false;
        }
        if (!stream) {
            throw ApiException.badParam("stream_options", "'stream_options' is only allowed when 'stream' is true");
        }
        return Fields.bool(so, "include_usage", false);
    }

    /**
     * The generation parameters, each checked here against its API field so that an error names
     * the field ({@code top_p}, not the engine's name for it).
     */
    private GenerateParams params(JsonNode body, String maxTokensField, Integer maxTokens, int logprobs) {
        // checked as the floats the sampler gets: 1e-50 is 0 there
        float temperature = Fields.number(body, "temperature", 1.0).floatValue();
        float topP = Fields.number(body, "top_p", 1.0).floatValue();
        int topK = Fields.integer(body, "top_k", -1);
        float minP = Fields.number(body, "min_p", 0.0).floatValue();
        float rep = Fields.number(body, "repetition_penalty", 1.0).floatValue();
        float presence = Fields.number(body, "presence_penalty", 0.0).floatValue();
        float frequency = Fields.number(body, "frequency_penalty", 0.0).floatValue();
        Long seed = Fields.longValue(body, "seed", null);
        int n = Fields.integer(body, "n", 1);
        List<String> stop = Fields.stringOrStrings(body, "stop");
        int[] stopIds = Fields.intArray(body, "stop_token_ids");
        boolean ignoreEos = Fields.bool(body, "ignore_eos", false);
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.badParam(maxTokensField, "'" + maxTokensField + "' must be at least 1, got " + maxTokens);
        }
        int maxN = Math.min(GenerateParams.MAX_N, engine.config().scheduler().maxSeqs());
        if (n < 1 || n > maxN) {
            throw ApiException.badParam("n", "'n' must be in 1.." + maxN + ", got " + n
                    + (n > maxN && maxN < GenerateParams.MAX_N ? " (this server runs at most " + maxN
                    + " sequences at once)" : ""));
        }
        requireIn("temperature", temperature, temperature >= 0 && temperature <= 2, "[0, 2]");
        requireIn("top_p", topP, topP > 0 && topP <= 1, "(0, 1]");
        if (topK < -1) {
            throw ApiException.badParam("top_k", "'top_k' must be -1 or 0 (off) or a positive integer, got " + topK);
        }
        requireIn("min_p", minP, minP >= 0 && minP <= 1, "[0, 1]");
        requireIn("repetition_penalty", rep, rep > 0 && Float.isFinite(rep), "(0, inf)");
        requireIn("presence_penalty", presence, presence >= -2 && presence <= 2, "[-2, 2]");
        requireIn("frequency_penalty", frequency, frequency >= -2 && frequency <= 2, "[-2, 2]");
        checkStops(stop, stopIds);
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, rep, presence, frequency, seed);
        LogitBias bias = logitBias(body);
        // 0 = "not given": the rest of the context, filled in per prompt by run()
        return new GenerateParams(sampling, maxTokens == null ? 0 : maxTokens, n, stopIds, stop, ignoreEos, logprobs,
                bias, structured.parse(body));
    }

    /** Entries a logit_bias may have at most. */
    static final int MAX_LOGIT_BIAS = 1024;

    /** OpenAI's {@code logit_bias}: token ids (as JSON object keys) to values in [-100, 100]. */
    private LogitBias logitBias(JsonNode body) {
        JsonNode lb = Fields.object(body, "logit_bias");
        if (lb == null || lb.isEmpty()) {
            return null;
        }
        if (lb.size() > MAX_LOGIT_BIAS) {
            throw ApiException.badParam("logit_bias", "'logit_bias' may hold at most " + MAX_LOGIT_BIAS
                    + " tokens, got " + lb.size());
        }
        int vocab = model.tokenizer().vocabSize();
        Map<Integer, Float> bias = new LinkedHashMap<>();
        for (var it = lb.fields(); it.hasNext(); ) {
            var e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw ApiException.badParam("logit_bias", "'logit_bias' keys must be token ids, got '" + e.getKey()
                        + "'");
            }
            if (id < 0 || id >= vocab) {
                throw ApiException.badParam("logit_bias", "token id " + id + " in 'logit_bias' is out of range for a"
                        + " vocabulary of " + vocab);
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.asDouble() >= -LogitBias.MAX_ABS && v.asDouble() <= LogitBias.MAX_ABS)) {
                throw ApiException.badParam("logit_bias", "'logit_bias' values must be numbers in [-100, 100], got "
                        + v + " for token " + id);
            }
            bias.put(id, (float) v.asDouble());
        }
        return new LogitBias(bias);
    }

    private static void requireIn(String field, float v, boolean ok, String range) {
        if (!ok) {
            throw ApiException.badParam(field, "'" + field + "' must be in " + range + ", got " + v);
        }
    }

    /** The engine's limits on stop strings and stop tokens, as 400s naming the field. */
    private void checkStops(List<String> stop, int[] stopIds) {
        if (stop.size() > GenerateParams.MAX_STOP_STRINGS) {
            throw ApiException.badParam("stop", "'stop' may hold at most " + GenerateParams.MAX_STOP_STRINGS
                    + " strings, got " + stop.size());
        }
        long chars = 0;
        for (String s : stop) {
            if (s.isEmpty()) {
                throw ApiException.badParam("stop", "'stop' strings must not be empty");
            }
            chars += s.length();
        }
        if (chars > GenerateParams.MAX_STOP_CHARS) {
            throw ApiException.badParam("stop", "'stop' strings may have at most " + GenerateParams.MAX_STOP_CHARS
                    + " characters in total, got " + chars);
        }
        if (stopIds.length > GenerateParams.MAX_STOP_TOKEN_IDS) {
            throw ApiException.badParam("stop_token_ids", "'stop_token_ids' may hold at most "
                    + GenerateParams.MAX_STOP_TOKEN_IDS + " ids, got " + stopIds.length);
        }
        int vocab = model.tokenizer().vocabSize();
        for (int id : stopIds) {
            if (id < 0 || id >= vocab) {
                throw ApiException.badParam("stop_token_ids", "token id " + id
                        + " in 'stop_token_ids' is out of range for a vocabulary of " + vocab);
            }
        }
    }

    // ---------------------------------------------------------------- running

    /** An output delta of prompt {@code prompt}; {@code out == null} marks the end of that prompt's stream. */
    private record Event(int prompt, RequestOutput out, RuntimeException failure) {
    }

    /** One choice being assembled. */
    private static final class Choice {
        final StringBuilder text = new StringBuilder();
        final List<Integer> tokens = new ArrayList<>();
        final List<LogProbs> logprobs = new ArrayList<>();
        FinishReason finish;
        long lastNanos;
        boolean started;
        int textOffset;
        /** Reads tool calls out of a streamed reply, when the request has tools. */
        ToolCallParser toolCalls;
    }

    void run(Job job, io.javalin.http.Context ctx) throws IOException {
        int ctxLen = model.contextLength();
        List<GenerateRequest> requests = new ArrayList<>();
        String id = (job.kind == Kind.CHAT ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        RequestRecord.of(ctx).id = id;
        for (int i = 0; i < job.prompts.size(); i++) {
            int[] p = job.prompts.get(i);
            int max = job.params.maxTokens();
            String what = what(job);
            if (max == 0) {
                if (p.length >= ctxLen) {
                    throw ApiException.badParam(what, "This model's maximum context length is " + ctxLen
                            + " tokens. However, your " + what + " resulted in " + p.length
                            + " tokens. Please reduce the length of the " + what + ".");
                }
                max = ctxLen - p.length;
            } else if (p.length + max > ctxLen) {
                throw ApiException.badParam("max_tokens", "This model's maximum context length is " + ctxLen
                        + " tokens. However, you requested " + (p.length + max) + " tokens (" + p.length + " in the "
                        + what + ", " + max + " in the completion). Please reduce the length of the " + what
                        + " or completion.");
            }
            requests.add(new GenerateRequest(id + "-" + i, p, job.params.withMaxTokens(max)));
        }
        if (engine.executorHealth() != null) {
            throw ApiException.modelUnavailable();
        }
        // every prompt runs n sequences: admission counts them all, not the HTTP request
        int k = requests.size() * job.params.n();
        if (k > admission.limit()) {
            throw ApiException.badParam(job.params.n() > 1 ? "n" : what(job), "This request needs " + k
                    + " sequences (" + requests.size() + " prompts × n = " + job.params.n() + "); this server admits"
                    + " at most " + admission.limit() + " at once.");
        }
        if (!admission.tryAcquire(k)) {
            throw ApiException.tooManyRequests("The server is at its limit of " + admission.limit()
                    + " pending sequences; retry later.");
        }
        List<RequestStream> streams = new ArrayList<>();
        try {
            for (GenerateRequest r : requests) {
                try {
                    streams.add(engine.submit(r));
                } catch (RequestRejectedException e) {
                    throw ApiException.badRequest(e.getMessage());
                } catch (IllegalStateException e) {
                    throw ApiException.unavailable("the engine is not running: " + e.getMessage());
                }
            }
            active.addAll(streams);
            LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
            for (int i = 0; i < streams.size(); i++) {
                int promptIndex = i;
                RequestStream s = streams.get(i);
                Thread.ofVirtual().name("stream-" + s.requestId()).start(() -> pump(promptIndex, s, events));
            }
            if (job.stream) {
                streamResponse(job, id, ctx, streams, events);
            } else {
                jsonResponse(job, id, ctx, streams, events);
            }
        } finally {
            for (RequestStream s : streams) {
                s.cancel();
                active.remove(s);
            }
            admission.release(k);
        }
    }

    private static String what(Job job) {
        return job.kind == Kind.CHAT ? "messages" : "prompt";
    }

    private static void pump(int prompt, RequestStream s, LinkedBlockingQueue<Event> events) {
        try {
            for (RequestOutput out : s) {
                events.add(new Event(prompt, out, null));
            }
            s.result().getNow(null);
            events.add(new Event(prompt, null, null));
        } catch (RuntimeException e) {
            events.add(new Event(prompt, null, e));
        }
    }

    /** Takes events, records latencies, accumulates choices; returns null at the end of all streams. */
    private final class Collector {
        final Job job;
        final RequestRecord record;
        final int n;
        final Choice[] choices;
        final Usage[] usages;
        int ended;
        long firstTokenNanos;
        String error;

        Collector(Job job, RequestRecord record) {
            this.job = job;
            this.record = record;
            this.n = job.params.n();
            this.choices = new Choice[job.prompts.size() * n];
            for (int i = 0; i < choices.length; i++) {
                choices[i] = new Choice();
            }
            this.usages = new Usage[job.prompts.size()];
        }

        /** Applies one event; returns the choice index it concerns, or -1. */
        int apply(Event e) {
            if (e.out == null) {
                ended++;
                if (e.failure != null && error == null) {
                    error = e.failure.getMessage();
                }
                return -1;
            }
            RequestOutput o = e.out;
            int ci = e.prompt * n + o.index();
            Choice c = choices[ci];
            long now = System.nanoTime();
            int[] ids = o.tokenIds();
            if (ids.length > 0) {
                if (firstTokenNanos == 0) {
                    firstTokenNanos = now;
                    metrics.ttft.observe((now - job.arrivalNanos) / 1e9);
                } else if (c.lastNanos != 0) {
                    metrics.itl.observe((now - c.lastNanos) / 1e9);
                }
                c.lastNanos = now;
                for (int t : ids) {
                    c.tokens.add(t);
                }
            }
            c.text.append(o.text());
            c.logprobs.addAll(o.logprobs());
            if (o.finishReason() != null) {
                c.finish = o.finishReason();
                if (o.finishReason() == FinishReason.ERROR && error == null) {
                    error = o.error() == null ? "generation failed" : o.error();
                }
            }
            if (o.usage() != null) {
                usages[e.prompt] = o.usage();
            }
            return ci;
        }

        boolean done() {
            return ended == job.prompts.size();
        }

        Usage usage() {
            int p = 0;
            int c = 0;
            int cached = 0;
            for (Usage u : usages) {
                if (u != null) {
                    p += u.promptTokens();
                    c += u.completionTokens();
                    cached += u.cachedPromptTokens();
                }
            }
            return new Usage(p, c, cached);
        }

        void finish() {
            Usage u = usage();
            record.tokens(u.promptTokens(), u.completionTokens());
            record.firstTokenNanos = firstTokenNanos;
            metrics.promptTokens.inc(u.promptTokens());
            metrics.generationTokens.inc(u.completionTokens());
            metrics.e2e.observe((System.nanoTime() - job.arrivalNanos) / 1e9);
            for (Choice c : choices) {
                String reason = c.finish == null ? "abort" : c.finish.openAiName();
                metrics.requestSuccess.labelValues(reason).inc();
            }
        }
    }

    private void jsonResponse(Job job, String id, io.javalin.http.Context ctx, List<RequestStream> streams,
            LinkedBlockingQueue<Event> events) throws IOException {
        Collector col = new Collector(job, RequestRecord.of(ctx));
        ClientProbe client = ClientProbe.of(ctx.req());
        long nextProbe = System.nanoTime() + keepAliveMs * 1_000_000;
        try {
            while (!col.done()) {
                Event e = events.poll(keepAliveMs, TimeUnit.MILLISECONDS);
                if (e != null) {
                    col.apply(e);
                }
                // probed on a clock, not when output pauses: a busy request streams deltas all the time
                if (System.nanoTime() - nextProbe < 0) {
                    continue;
                }
                nextProbe = System.nanoTime() + keepAliveMs * 1_000_000;
                if (client.gone()) {
                    // nobody will read the answer: abort now so that the sequences stop taking engine time
                    for (RequestStream s : streams) {
                        s.cancel();
                    }
                    metrics.requestSuccess.labelValues("abort").inc();
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("interrupted");
        }
        if (client.mustClose()) {
            ctx.header("Connection", "close");
        }
        col.finish();
        if (col.error != null) {
            // failed because the executor degraded meanwhile: a 503 like the requests refused above
            throw engine.executorHealth() != null ? ApiException.modelUnavailable() : ApiException.internal(col.error);
        }
        ObjectNode root = header(job, id);
        ArrayNode choices = root.putArray("choices");
        for (int i = 0; i < col.choices.length; i++) {
            Choice c = col.choices[i];
            ObjectNode ch = choices.addObject();
            ch.put("index", i);
            String prefix = job.echo ? job.promptTexts.get(i / col.n) : "";
            if (job.kind == Kind.CHAT) {
                ObjectNode msg = ch.putObject("message");
                msg.put("role", "assistant");
                ToolCallReply reply = job.tools.parsesCalls() ? ToolCallReply.read(job.tools, c.text.toString())
                        : ToolCallReply.text(c.text.toString());
                if (reply.calls().isEmpty()) {
                    msg.put("content", reply.content());
                } else {
                    msg.put("content", reply.content().isBlank() ? null : reply.content());
                    reply.putCalls(msg.putArray("tool_calls"));
                    if (c.finish != null && c.finish.openAiName().equals("stop")) {
                        ch.put("finish_reason", "tool_calls");
                    }
                }
                msg.putNull("refusal");
                if (job.logprobs) {
                    chatLogprobs(ch.putObject("logprobs"), c.logprobs, job.params.logprobs());
                } else {
                    ch.putNull("logprobs");
                }
            } else {
                ch.put("text", prefix + c.text);
                if (job.logprobs) {
                    int[] promptIds = job.echo ? job.prompts.get(i / col.n) : new int[0];
                    completionLogprobs(ch.putObject("logprobs"), promptIds, c.logprobs, 0);
                } else {
                    ch.putNull("logprobs");
                }
            }
            if (!ch.has("finish_reason")) {
                ch.put("finish_reason", c.finish == null ? "abort" : c.finish.openAiName());
            }
        }
        putUsage(root, col.usage());
        ctx.status(200).contentType("application/json").result(json.writeValueAsBytes(root));
    }

    private ObjectNode header(Job job, String id) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", job.kind == Kind.CHAT ? (job.stream ? "chat.completion.chunk" : "chat.completion")
                : "text_completion");
        root.put("created", System.currentTimeMillis() / 1000);
        root.put("model", model.name());
        return root;
    }

    private static void putUsage(ObjectNode root, Usage u) {
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", u.promptTokens());
        usage.put("completion_tokens", u.completionTokens());
        usage.put("total_tokens", u.totalTokens());
        usage.putObject("prompt_tokens_details").put("cached_tokens", u.cachedPromptTokens());
    }

    private String tokenText(int id) {
        return model.tokenizer().decode(new int[] {id});
    }

    private void chatLogprobs(ObjectNode lp, List<LogProbs> list, int top) {
        ArrayNode content = lp.putArray("content");
        for (LogProbs l : list) {
            ObjectNode e = content.addObject();
            String t = tokenText(l.token());
            e.put("token", t);
            e.put("logprob", l.logprob());
            putBytes(e, t);
            ArrayNode tops = e.putArray("top_logprobs");
            for (int j = 0; j < Math.min(top, l.topIds().length); j++) {
                ObjectNode o = tops.addObject();
                String s = tokenText(l.topIds()[j]);
                o.put("token", s);
                o.put("logprob", l.topLogprobs()[j]);
                putBytes(o, s);
            }
        }
        lp.putNull("refusal");
    }

    private static void putBytes(ObjectNode e, String t) {
        ArrayNode b = e.putArray("bytes");
        for (byte x : t.getBytes(StandardCharsets.UTF_8)) {
            b.add(x & 0xff);
        }
    }

    /** OpenAI's legacy logprobs object; prompt tokens (echo) have a null log-probability. */
    private void completionLogprobs(ObjectNode lp, int[] promptIds, List<LogProbs> list, int offset) {
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode tokenLogprobs = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int off = offset;
        for (int id : promptIds) {
            String t = tokenText(id);
            tokens.add(t);
            tokenLogprobs.addNull();
            tops.addNull();
            offsets.add(off);
            off += t.length();
        }
        for (LogProbs l : list) {
            String t = tokenText(l.token());
            tokens.add(t);
            tokenLogprobs.add(l.logprob());
            ObjectNode top = tops.addObject();
            for (int j = 0; j < l.topIds().length; j++) {
                top.put(tokenText(l.topIds()[j]), l.topLogprobs()[j]);
            }
            offsets.add(off);
            off += t.length();
        }
    }

    // ---------------------------------------------------------------- SSE

    private void streamResponse(Job job, String id, io.javalin.http.Context ctx, List<RequestStream> streams,
            LinkedBlockingQueue<Event> events) throws IOException {
        HttpServletResponse res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream");
        res.setCharacterEncoding("utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        OutputStream out = res.getOutputStream();
        Collector col = new Collector(job, RequestRecord.of(ctx));
        long created = System.currentTimeMillis() / 1000;
        try {
            if (job.kind == Kind.CHAT) {
                for (int i = 0; i < col.choices.length; i++) {
                    ObjectNode chunk = chunk(job, id, created);
                    ObjectNode ch = chunk.putArray("choices").addObject();
                    ch.put("index", i);
                    ch.putObject("delta").put("role", "assistant").put("content", "");
                    ch.putNull("logprobs");
                    ch.putNull("finish_reason");
                    send(out, chunk);
                }
                out.flush();
            }
            while (!col.done()) {
                Event e = events.poll(keepAliveMs, TimeUnit.MILLISECONDS);
                if (e == null) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                int ci = col.apply(e);
                if (ci < 0) {
                    continue;
                }
                RequestOutput o = e.out;
                Choice c = col.choices[ci];
                boolean first = !c.started;
                c.started = true;
                String text = o.text();
                if (job.echo && first) {
                    text = job.promptTexts.get(e.prompt) + text;
                }
                if (text.isEmpty() && o.finishReason() == null && o.logprobs().isEmpty()) {
                    continue;
                }
                if (o.finishReason() == FinishReason.ERROR) {
                    ObjectNode err = json.createObjectNode();
                    ObjectNode eo = err.putObject("error");
                    eo.put("message", o.error() == null ? "generation failed" : o.error());
                    eo.put("type", "server_error");
                    eo.putNull("param");
                    eo.putNull("code");
                    send(out, err);
                }
                ObjectNode chunk = chunk(job, id, created);
                ObjectNode ch = chunk.putArray("choices").addObject();
                ch.put("index", ci);
                String finishName = o.finishReason() == null ? null : o.finishReason().openAiName();
                if (job.kind == Kind.CHAT) {
                    ObjectNode delta = ch.putObject("delta");
                    if (job.tools.parsesCalls()) {
                        if (c.toolCalls == null) {
                            c.toolCalls = new ToolCallParser(job.tools.syntax());
                        }
                        List<ToolCallParser.Piece> pieces = new ArrayList<>(c.toolCalls.feed(text));
                        if (o.finishReason() != null) {
                            pieces.addAll(c.toolCalls.finish());
                            if (o.finishReason().openAiName().equals("stop") && c.toolCalls.calls() > 0) {
                                finishName = "tool_calls";
                            }
                        }
                        ToolCallReply.putDelta(delta, pieces);
                        if (delta.isEmpty() && finishName == null && o.logprobs().isEmpty()) {
                            continue; // held back: it may be the start of a call
                        }
                    } else if (!text.isEmpty()) {
                        delta.put("content", text);
                    }
                    if (job.logprobs && !o.logprobs().isEmpty()) {
                        chatLogprobs(ch.putObject("logprobs"), o.logprobs(), job.params.logprobs());
                    } else {
                        ch.putNull("logprobs");
                    }
                } else {
                    ch.put("text", text);
                    if (job.logprobs) {
                        int[] promptIds = job.echo && first ? job.prompts.get(e.prompt) : new int[0];
                        completionLogprobs(ch.putObject("logprobs"), promptIds, o.logprobs(), c.textOffset);
                    } else {
                        ch.putNull("logprobs");
                    }
                }
                c.textOffset += text.length();
                if (finishName != null) {
                    ch.put("finish_reason", finishName);
                } else {
                    ch.putNull("finish_reason");
                }
                send(out, chunk);
                out.flush();
            }
            col.finish();
            if (job.includeUsage) {
                ObjectNode chunk = chunk(job, id, created);
                chunk.putArray("choices");
                putUsage(chunk, col.usage());
                send(out, chunk);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException gone) {
            // the client disconnected: abort now so that its KV blocks are freed at the next step
            for (RequestStream s : streams) {
                s.cancel();
            }
            metrics.requestSuccess.labelValues("abort").inc();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private ObjectNode chunk(Job job, String id, long created) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", job.kind == Kind.CHAT ? "chat.completion.chunk" : "text_completion");
        root.put("created", created);
        root.put("model", model.name());
        if (job.includeUsage) {
            root.putNull("usage"); // as OpenAI: null on every chunk but the last
        }
        return root;
    }

    private void send(OutputStream out, ObjectNode chunk) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(json.writeValueAsBytes(chunk));
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
    }
}
