package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.kernel.Kernels;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API over plain HTTP: response shapes, SSE framing, each error status, disconnects, floods. */
class ServerApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static TestServer ts;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults().withMaxBodyBytes(64 * 1024).withMaxPendingRequests(4));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (ts != null) {
            ts.close();
        }
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(ts.url() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(ts.url() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertNotNull(e, r.body());
        assertTrue(e.get("message").asText().length() > 5);
        assertTrue(e.has("type") && e.has("param") && e.has("code"));
        return e;
    }

    @Test
    void completionShapes() throws Exception {
        JsonNode r = JSON.readTree(post("/v1/completions", """
                {"model":"stories260K","prompt":["Once upon a time","The cat"],"max_tokens":5,"temperature":0,
                 "n":2,"echo":true,"logprobs":2}""").body());
        assertEquals("text_completion", r.get("object").asText());
        assertEquals(4, r.get("choices").size());
        JsonNode c0 = r.get("choices").get(0);
        assertTrue(c0.get("text").asText().startsWith("Once upon a time"), c0.toString());
        assertTrue(r.get("choices").get(2).get("text").asText().startsWith("The cat"));
        JsonNode lp = c0.get("logprobs");
        int promptTokens = lp.get("tokens").size() - 5;
        assertTrue(lp.get("token_logprobs").get(0).isNull());
        assertTrue(lp.get("token_logprobs").get(promptTokens).asDouble() <= 0);
        assertEquals(2, lp.get("top_logprobs").get(promptTokens).size());
        assertEquals(20, r.get("usage").get("completion_tokens").asInt());
        // token-id prompts
        JsonNode t = JSON.readTree(post("/v1/completions",
                "{\"prompt\":[1,403,407],\"max_tokens\":3,\"temperature\":0}").body());
        assertEquals(3, t.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void chatLogprobsAndStop() throws Exception {
        JsonNode r = JSON.readTree(post("/v1/chat/completions", """
                {"model":"stories260K","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],
                 "max_tokens":8,"temperature":0,"logprobs":true,"top_logprobs":3,"top_k":5,"min_p":0.01,
                 "repetition_penalty":1.1}""").body());
        JsonNode c = r.get("choices").get(0);
        assertEquals("assistant", c.get("message").get("role").asText());
        JsonNode content = c.get("logprobs").get("content");
        assertEquals(r.get("usage").get("completion_tokens").asInt(), content.size());
        assertEquals(3, content.get(0).get("top_logprobs").size());
        // a stop string cuts the text before it
        String text = c.get("message").get("content").asText();
        if (text.length() > 3) {
            String stop = text.substring(2, 4);
            JsonNode s = JSON.readTree(post("/v1/chat/completions", """
                    {"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"temperature":0,"stop":%s}"""
                    .formatted(JSON.writeValueAsString(stop))).body());
            assertEquals("stop", s.get("choices").get(0).get("finish_reason").asText());
            assertFalse(s.get("choices").get(0).get("message").get("content").asText().contains(stop));
        }
    }

    @Test
    void sseFraming() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", """
                {"messages":[{"role":"user","content":"Hello"}],"max_tokens":6,"temperature":0,"stream":true,
                 "stream_options":{"include_usage":true}}""");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> events = new ArrayList<>();
        for (String block : r.body().split("\n\n")) {
            if (block.startsWith("data: ")) {
                events.add(block.substring(6));
            }
        }
        assertEquals("[DONE]", events.get(events.size() - 1));
        JsonNode first = JSON.readTree(events.get(0));
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        JsonNode usage = JSON.readTree(events.get(events.size() - 2));
        assertEquals(0, usage.get("choices").size());
        assertEquals(6, usage.get("usage").get("completion_tokens").asInt());
        JsonNode lastChoice = JSON.readTree(events.get(events.size() - 3)).get("choices").get(0);
        assertEquals("length", lastChoice.get("finish_reason").asText());
    }

    @Test
    void keepAliveCommentsWhileWaiting() throws Exception {
        // two sequences at a time: the streamed one waits behind a long request of n = 2
        try (TestServer one = new TestServer(ServerConfig.defaults(), 2)) {
            one.server.keepAliveInterval(Duration.ofMillis(5));
            var blocker = http.sendAsync(HttpRequest.newBuilder(URI.create(one.url() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once\",\"max_tokens\":400,\"n\":2,\"ignore_eos\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            while (one.engine.stats().running() < 1) {
                Thread.sleep(2);
            }
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(one.url() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once\",\"max_tokens\":10,\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(r.body().startsWith(": keep-alive\n\n"), r.body());
            assertTrue(r.body().endsWith("data: [DONE]\n\n"));
            assertEquals(200, blocker.get().statusCode());
        }
    }

    @Test
    void tokenizeDetokenizeHealthMetrics() throws Exception {
        JsonNode t = JSON.readTree(post("/tokenize", "{\"prompt\":\"Once upon a time\"}").body());
        assertEquals(t.get("tokens").size(), t.get("count").asInt());
        assertEquals(512, t.get("max_model_len").asInt());
        JsonNode d = JSON.readTree(post("/detokenize", "{\"tokens\":" + t.get("tokens") + "}").body());
        assertEquals("Once upon a time", d.get("prompt").asText());
        assertEquals(200, get("/health").statusCode());
        post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":3}");
        String m = get("/metrics").body();
        for (String name : List.of("tessera_time_to_first_token_seconds_bucket", "tessera_inter_token_latency_seconds",
                "tessera_e2e_request_latency_seconds", "tessera_prompt_tokens_total", "tessera_generation_tokens_total",
                "tessera_requests_running", "tessera_requests_waiting", "tessera_kv_cache_usage_ratio",
                "tessera_prefix_cache_hit_rate", "tessera_preemptions_total")) {
            assertTrue(m.contains(name), name + " in\n" + m);
        }
        assertTrue(m.contains("tessera_kernels_info{kernels=\"" + Kernels.name() + "\"} 1"), "kernels named in\n" + m);
        JsonNode stats = JSON.readTree(get("/stats").body());
        assertTrue(stats.has("requests_running") && stats.has("generation_tokens_per_s") && stats.has("kv_cache_usage"));
    }

    @Test
    void badRequests() throws Exception {
        error(post("/v1/completions", "{\"prompt\": \"x\", "), 400);
        error(post("/v1/completions", "[1,2]"), 400);
        JsonNode e = error(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":\"ten\"}"), 400);
        assertEquals("max_tokens", e.get("param").asText());
        error(post("/v1/chat/completions", "{\"messages\":\"hi\"}"), 400);
        error(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}"), 400);
        error(post("/v1/completions", "{\"prompt\":\"x\",\"temperature\":true}"), 400);
        error(post("/v1/completions", "{\"prompt\":[1,99999]}"), 400);
        e = error(post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}"), 404);
        assertEquals("model_not_found", e.get("code").asText());
        e = error(post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":510}"), 400);
        assertTrue(e.get("message").asText().contains("maximum context length is 512 tokens"), e.toString());
        assertTrue(e.get("message").asText().contains("510 in the completion"), e.toString());
        error(post("/v1/completions", "{\"prompt\":\"" + "a".repeat(70_000) + "\"}"), 413);
        // the server keeps serving
        assertEquals(200, post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2}").statusCode());
    }

    @Test
    void apiKey() throws Exception {
        try (TestServer keyed = new TestServer(ServerConfig.defaults().withApiKey("s3cret"))) {
            HttpResponse<String> none = http.send(HttpRequest.newBuilder(URI.create(keyed.url() + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            error(none, 401);
            HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(URI.create(keyed.url() + "/v1/models"))
                    .header("Authorization", "Bearer nope").build(), HttpResponse.BodyHandlers.ofString());
            error(wrong, 401);
            HttpResponse<String> ok = http.send(HttpRequest.newBuilder(URI.create(keyed.url() + "/v1/models"))
                    .header("Authorization", "Bearer s3cret").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode());
            assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(keyed.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
        }
    }

    @Test
    void clientDisconnectAbortsAndFreesBlocks() throws Exception {
        long abortedBefore = ts.engine.stats().abortedRequests();
        // n = 4: the whole pending limit of this server
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":480,\"n\":4,\"ignore_eos\":true,"
                + "\"stream\":true}";
        try (Socket s = new Socket("127.0.0.1", ts.server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            int data = 0;
            String line;
            while (data < 3 && (line = in.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    data++;
                }
            }
            assertEquals(3, data);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((ts.engine.liveRequests() > 0 || ts.server.pendingRequests() > 0
                || ts.engine.stats().abortedRequests() == abortedBefore) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, ts.engine.liveRequests());
        assertTrue(ts.engine.stats().abortedRequests() > abortedBefore, "the request was aborted, not completed");
        ts.engine.checkBlocks();
        assertEquals(0, ts.engine.kvStats().usedBlocks());
    }

    @Test
    void clientDisconnectWhileWaitingAborts() throws Exception {
        try (TestServer one = new TestServer(ServerConfig.defaults(), 2)) {
            one.server.keepAliveInterval(Duration.ofMillis(5));
            var blocker = http.sendAsync(HttpRequest.newBuilder(URI.create(one.url() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once\",\"max_tokens\":480,\"n\":2,\"ignore_eos\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            while (one.engine.stats().running() < 1) {
                Thread.sleep(2);
            }
            String body = "{\"prompt\":\"Once\",\"max_tokens\":10,\"stream\":true}";
            try (Socket s = new Socket("127.0.0.1", one.server.port())) {
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: "
                        + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.startsWith(": keep-alive")) {
                    // headers, then the first comment while the request waits
                }
                assertEquals(2, one.engine.liveRequests());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (one.engine.liveRequests() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertTrue(one.engine.liveRequests() <= 1, "the waiting request was aborted while the blocker runs");
            assertEquals(200, blocker.get().statusCode());
            // the stats are as of the engine's last step: read them once the blocker has finished
            assertEquals(1, one.engine.stats().abortedRequests(), one.engine.stats().toString());
            one.engine.checkBlocks();
        }
    }

    @Test
    void floodOverTheQueueLimit() throws Exception {
        int clients = 24;
        List<Future<HttpResponse<String>>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                int k = i;
                futures.add(pool.submit(() -> post("/v1/completions",
                        "{\"prompt\":\"Story " + k + "\",\"max_tokens\":200,\"ignore_eos\":true}")));
            }
        }
        int ok = 0;
        int limited = 0;
        for (Future<HttpResponse<String>> f : futures) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 200) {
                ok++;
                JsonNode j = JSON.readTree(r.body());
                assertEquals(200, j.get("usage").get("completion_tokens").asInt());
                assertEquals("length", j.get("choices").get(0).get("finish_reason").asText());
            } else {
                assertEquals("rate_limit_exceeded", error(r, 429).get("code").asText());
                limited++;
            }
        }
        assertEquals(clients, ok + limited);
        assertTrue(ok >= 4, "admitted requests complete: " + ok);
        assertTrue(limited > 0, "some requests were over the limit of 4");
        assertEquals(200, post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2}").statusCode());
        ts.engine.checkBlocks();
    }
}
