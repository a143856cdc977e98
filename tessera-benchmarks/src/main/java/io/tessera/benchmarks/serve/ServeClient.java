package io.tessera.benchmarks.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One streaming request against an OpenAI-compatible endpoint, timed as a user sees it: time to
 * the first generated text, the gaps between text chunks, and the whole request.
 */
public final class ServeClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI uri;
    private final boolean chat;
    private final String model;
    private final String apiKey;
    private final boolean ignoreEos;
    private final Duration timeout;

    public ServeClient(HttpClient http, URI uri, boolean chat, String model, String apiKey, boolean ignoreEos,
            Duration timeout) {
        this.http = http;
        this.uri = uri;
        this.chat = chat;
        this.model = model;
        this.apiKey = apiKey;
        this.ignoreEos = ignoreEos;
        this.timeout = timeout;
    }

    String body(ServePrompt p) throws IOException {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        if (chat) {
            ObjectNode m = b.putArray("messages").addObject();
            m.put("role", "user");
            m.put("content", p.text());
            b.put("max_completion_tokens", p.outputLen());
        } else {
            if (p.tokenIds() != null) {
                var arr = b.putArray("prompt");
                for (int t : p.tokenIds()) {
                    arr.add(t);
                }
            } else {
                b.put("prompt", p.text());
            }
            b.put("max_tokens", p.outputLen());
        }
        b.put("temperature", 0.0);
        if (ignoreEos) {
            b.put("ignore_eos", true);
        }
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        return JSON.writeValueAsString(b);
    }

    /** Sends {@code p} and reads its stream to the end; a failure is an outcome, never an exception. */
    public ServeOutcome send(ServePrompt p) {
        long start = System.nanoTime();
        List<Double> itl = new ArrayList<>();
        List<Long> chunks = new ArrayList<>();
        double ttft = Double.NaN;
        int promptTokens = p.inputLen();
        int outputTokens = -1;
        int textChunks = 0;
        try {
            HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(body(p)));
            if (apiKey != null) {
                rb.header("Authorization", "Bearer " + apiKey);
            }
            HttpResponse<InputStream> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                if (r.statusCode() != 200) {
                    StringBuilder sb = new StringBuilder();
                    String line;
                    while ((line = in.readLine()) != null && sb.length() < 500) {
                        sb.append(line);
                    }
                    return failed(p, start, "HTTP " + r.statusCode() + ": " + sb);
                }
                String line;
                long last = 0;
                boolean done = false;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    String data = line.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        done = true;
                        break;
                    }
                    JsonNode j = JSON.readTree(data);
                    if (j.has("error")) {
                        return failed(p, start, j.get("error").path("message").asText());
                    }
                    JsonNode usage = j.get("usage");
                    if (usage != null && !usage.isNull()) {
                        promptTokens = usage.path("prompt_tokens").asInt(promptTokens);
                        outputTokens = usage.path("completion_tokens").asInt(-1);
                    }
                    JsonNode choices = j.get("choices");
                    if (choices == null || choices.isEmpty()) {
                        continue;
                    }
                    JsonNode c = choices.get(0);
                    String text = chat ? c.path("delta").path("content").asText("") : c.path("text").asText("");
                    if (text.isEmpty()) {
                        continue;
                    }
                    long now = System.nanoTime();
                    if (textChunks == 0) {
                        ttft = (now - start) / 1e9;
                    } else {
                        itl.add((now - last) / 1e9);
                    }
                    chunks.add(now);
                    last = now;
                    textChunks++;
                }
                if (!done) {
                    return failed(p, start, "the stream ended without [DONE]");
                }
            }
        } catch (Exception e) {
            return failed(p, start, e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
        if (textChunks == 0) {
            return failed(p, start, "no text was generated");
        }
        double e2e = (System.nanoTime() - start) / 1e9;
        return new ServeOutcome(p, true, null, start, ttft, e2e, itl, chunks, promptTokens,
                outputTokens >= 0 ? outputTokens : textChunks);
    }

    private static ServeOutcome failed(ServePrompt p, long start, String error) {
        return new ServeOutcome(p, false, error, start, Double.NaN, (System.nanoTime() - start) / 1e9, List.of(),
                List.of(), 0, 0);
    }

    /** The first model id the endpoint lists. */
    public static String firstModel(HttpClient http, URI base, String apiKey) throws IOException, InterruptedException {
        HttpRequest.Builder rb = HttpRequest.newBuilder(base.resolve("/v1/models")).timeout(Duration.ofSeconds(30));
        if (apiKey != null) {
            rb.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET /v1/models answered " + r.statusCode() + ": " + r.body());
        }
        JsonNode data = JSON.readTree(r.body()).path("data");
        if (!data.isArray() || data.isEmpty()) {
            throw new IllegalStateException("GET /v1/models listed no model");
        }
        return data.get(0).path("id").asText();
    }
}
