package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.core.sampling.LogitBias;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerationLimits;
import io.tessera.engine.RequestRejectedException;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The request fields both generation endpoints share (sampling, stops, {@code n}, logit bias,
 * structured output, {@code stream_options}, {@code kv_transfer_params}), checked and turned into
 * {@link GenerateParams} and the job's other parts.
 */
final class GenerateParamsParser {

    private final GenerationLimits limits;
    private final ServedModel model;
    private final StructuredOutput structured;
    private final KvConnector kvConnector;

    GenerateParamsParser(GenerationLimits limits, ServedModel model, StructuredOutput structured,
            KvConnector kvConnector) {
        this.limits = limits;
        this.model = model;
        this.structured = structured;
        this.kvConnector = kvConnector;
    }

    /** The request's part in a prefill/decode exchange (one prompt; a prefill for others answers whole). */
    KvTransfer kvTransfer(JsonNode body, int prompts, boolean stream) {
        KvTransfer t = KvTransferParams.parse(body, kvConnector);
        // a prefix hint applies to each prompt alike: each fetches what the peer has of its own prefix
        if (t != null && prompts != 1 && t.role() != KvTransfer.Role.PEER_PREFIX) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params' applies to a single prompt");
        }
        if (t != null && t.role() == KvTransfer.Role.PRODUCE && stream) {
            throw ApiException.badParam("kv_transfer_params", "a prefill for a remote decode (do_remote_decode) "
                    + "answers with one JSON response: 'stream' must be false");
        }
        return t;
    }

    /** {@code stream_options.include_usage}; the options are only allowed on a streamed request. */
    static boolean includeUsage(JsonNode body, boolean stream) {
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
    GenerateParams parse(JsonNode body, String maxTokensField, Integer maxTokens, int logprobs) {
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
            throw ApiException.badParam(maxTokensField, "'" + maxTokensField + "' must be at least 1, got "
                    + maxTokens);
        }
        try {
            limits.checkSamples(n);
        } catch (RequestRejectedException e) {
            int maxN = limits.maxSamples();
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
        // 0 = "not given": the rest of the context, filled in per prompt by GenerationRunner
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
}
