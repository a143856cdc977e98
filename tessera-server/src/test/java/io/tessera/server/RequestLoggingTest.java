package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.engine.EngineStats;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The access log line per request and the periodic throughput line. */
class RequestLoggingTest {

    static final String KEY = "secret-key-123";
    static final String PROMPT = "Once upon a time in a tiny village";

    private static HttpResponse<String> send(HttpClient http, TestServer ts, String method, String path, String key,
            String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(ts.url() + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits (bounded) until {@code n} lines were logged: a streamed answer reaches the client first. */
    private static void awaitLines(List<String> lines, int n) throws InterruptedException {
        for (int i = 0; i < 500 && lines.size() < n; i++) {
            Thread.sleep(10);
        }
        assertEquals(n, lines.size(), String.join("\n", lines));
    }

    @Test
    void oneLinePerApiRequestWithoutPromptOrKey() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults().withApiKey(KEY))) {
            List<String> lines = new CopyOnWriteArrayList<>();
            ts.server.accessLogSink(lines::add);
            HttpClient http = HttpClient.newHttpClient();
            assertEquals(200, send(http, ts, "POST", "/v1/completions", KEY,
                    "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":5,\"temperature\":0}").statusCode());
            awaitLines(lines, 1);
            assertTrue(lines.get(0).matches("POST /v1/completions 200 \\d+\\.\\d{3}s id=cmpl-[0-9a-f]{32}"
                    + " prompt_tokens=\\d+ completion_tokens=5 ttft=\\d+\\.\\d{3}s"), lines.get(0));
            assertEquals(200, send(http, ts, "POST", "/v1/chat/completions", KEY, "{\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"" + PROMPT + "\"}],\"max_tokens\":3,\"stream\":true}").statusCode());
            awaitLines(lines, 2);
            assertTrue(lines.get(1).matches("POST /v1/chat/completions 200 .* id=chatcmpl-\\w+ prompt_tokens=\\d+"
                    + " completion_tokens=3 ttft=.*"), lines.get(1));
            assertEquals(200, send(http, ts, "POST", "/v1/embeddings", KEY, "{\"input\":\"" + PROMPT + "\"}")
                    .statusCode());
            awaitLines(lines, 3);
            assertTrue(lines.get(2).matches("POST /v1/embeddings 200 .* id=embd-\\w+ prompt_tokens=\\d+"
                    + " completion_tokens=0"), lines.get(2));
            // errors: a wrong key, a bad field, no such route; GETs that are not API calls are left out
            assertEquals(401, send(http, ts, "POST", "/v1/completions", "wrong-key", "{\"prompt\":\"x\"}").statusCode());
            assertEquals(400, send(http, ts, "POST", "/v1/completions", KEY, "{\"prompt\":\"" + PROMPT
                    + "\",\"max_tokens\":-1}").statusCode());
            assertEquals(404, send(http, ts, "GET", "/no/such/route", null, null).statusCode());
            assertEquals(200, send(http, ts, "GET", "/health", null, null).statusCode());
            assertEquals(200, send(http, ts, "GET", "/metrics", null, null).statusCode());
            assertEquals(200, send(http, ts, "GET", "/v1/models", KEY, null).statusCode());
            awaitLines(lines, 7);
            assertTrue(lines.get(3).startsWith("POST /v1/completions 401 "), lines.get(3));
            assertTrue(lines.get(4).startsWith("POST /v1/completions 400 "), lines.get(4));
            assertTrue(lines.get(5).startsWith("GET /no/such/route 404 "), lines.get(5));
            assertTrue(lines.get(6).startsWith("GET /v1/models 200 "), lines.get(6));
            for (String l : lines) {
                assertFalse(l.contains("upon") || l.contains(KEY) || l.contains("wrong-key"), l);
            }
        }
    }

    @Test
    void noAccessLogWhenTurnedOff() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults(), RequestLogging.off())) {
            List<String> lines = new CopyOnWriteArrayList<>();
            ts.server.accessLogSink(lines::add);
            assertEquals(200, send(HttpClient.newHttpClient(), ts, "POST", "/v1/completions", null,
                    "{\"prompt\":\"x\",\"max_tokens\":2}").statusCode());
            Thread.sleep(100);
            assertEquals(List.of(), lines);
        }
    }

    @Test
    void throughputLineIsSilentWhenIdle() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults(), RequestLogging.off())) {
            EngineStats before = ts.engine.stats();
            assertNull(ThroughputLog.line(before, before, 10));
            assertEquals(200, send(HttpClient.newHttpClient(), ts, "POST", "/v1/completions", null,
                    "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":20,\"ignore_eos\":true}").statusCode());
            EngineStats after = ts.engine.stats();
            long prompt = after.promptTokensComputed() - before.promptTokensComputed();
            long generated = after.generatedTokens() - before.generatedTokens();
            assertEquals(20, generated);
            String line = ThroughputLog.line(before, after, 2.0);
            assertEquals(String.format(Locale.ROOT, "Avg prompt throughput: %.1f tokens/s, Avg generation throughput:"
                    + " 10.0 tokens/s, Running: 0 reqs, Waiting: 0 reqs, KV cache usage: 0.0%%, Prefix cache hit"
                    + " rate: %.1f%%", prompt / 2.0, 100 * after.kv().hitRate()), line);
            assertNull(ThroughputLog.line(after, after, 10), "idle again");
        }
    }

    @Test
    void loggingSettingsAreChecked() {
        assertEquals(new RequestLogging(true, RequestLogging.DEFAULT_STATS_INTERVAL), RequestLogging.defaults());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new RequestLogging(true, java.time.Duration.ofSeconds(-1)));
    }
}
