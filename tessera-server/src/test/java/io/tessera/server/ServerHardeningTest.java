package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The API against hostile and careless clients: each test is a finding of issue 25's HTTP part. */
class ServerHardeningTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String JSON_TYPE = "Content-Type: application/json\r\n";
    static TestServer ts;

    @BeforeAll
    static void start() throws Exception {
        // four sequences run at once, eight may be pending, four prompts per request
        ts = new TestServer(ServerConfig.defaults().withMaxPendingRequests(8).withMaxPrompts(4)
                .withMaxBodyBytes(64 * 1024), 4);
        ts.server.keepAliveInterval(Duration.ofMillis(20));
    }

    @AfterAll
    static void stop() {
        if (ts != null) {
            ts.close();
        }
    }

    static RawHttp.Response post(TestServer s, String path, String headers, String body) throws Exception {
        return RawHttp.exchange(s.server.port(), "POST", path, "localhost", headers, body);
    }

    static RawHttp.Response postJson(String path, String body) throws Exception {
        return post(ts, path, JSON_TYPE, body);
    }

    /** The OpenAI error object of an answer with this status. */
    static JsonNode error(RawHttp.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.head() + "\n" + r.body());
        assertTrue(r.header("Content-Type").startsWith("application/json"), r.head());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertTrue(e != null && e.get("message").asText().length() > 5, r.body());
        assertTrue(e.has("type") && e.has("param") && e.has("code"), r.body());
        return e;
    }

    @Test
    void theApiKeyGuardsEveryRouteWithOrWithoutATrailingSlash() throws Exception {
        try (TestServer keyed = new TestServer(ServerConfig.defaults().withApiKey("s3cret-key"))) {
            record Route(String method, String path, String body) {
            }
            List<Route> routes = List.of(
                    new Route("GET", "/v1/models", null),
                    new Route("GET", "/v1/models/" + TestServer.MODEL, null),
                    new Route("POST", "/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":1}"),
                    new Route("POST", "/v1/chat/completions",
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}"),
                    new Route("POST", "/tokenize", "{\"prompt\":\"Hi\"}"),
                    new Route("POST", "/detokenize", "{\"tokens\":[1,403]}"));
            int checked = 0;
            for (Route r : routes) {
                for (String path : List.of(r.path(), r.path() + "/")) {
                    String headers = r.body() == null ? "" : JSON_TYPE;
                    RawHttp.Response none = RawHttp.exchange(keyed.server.port(), r.method(), path, "localhost",
                            headers, r.body());
                    assertEquals("invalid_api_key", error(none, 401).get("code").asText(), r.method() + " " + path);
                    RawHttp.Response wrong = RawHttp.exchange(keyed.server.port(), r.method(), path, "localhost",
                            headers + "Authorization: Bearer s3cret-kez\r\n", r.body());
                    error(wrong, 401);
                    RawHttp.Response ok = RawHttp.exchange(keyed.server.port(), r.method(), path, "localhost",
                            headers + "Authorization: Bearer s3cret-key\r\n", r.body());
                    assertEquals(200, ok.status(), r.method() + " " + path + ": " + ok.body());
                    checked++;
                }
            }
            assertEquals(12, checked);
            // the open routes stay open
            assertEquals(200, RawHttp.exchange(keyed.server.port(), "GET", "/health", "localhost", "", null).status());
            assertEquals(200, RawHttp.exchange(keyed.server.port(), "GET", "/health/", "localhost", "", null).status());
        }
    }

    @Test
    @Timeout(60)
    void admissionCountsPromptsTimesNAgainstTheLimits() throws Exception {
        // 3 prompts × n 2 = 6 sequences fit the 8; 3 × 3 = 9 never can
        JsonNode never = error(postJson("/v1/completions",
                "{\"prompt\":[\"a\",\"b\",\"c\"],\"n\":3,\"max_tokens\":1}"), 400);
        assertEquals("n", never.get("param").asText());
        assertTrue(never.get("message").asText().contains("needs 9 sequences"), never.toString());
        // n alone above the running limit (4) could only fork past it
        JsonNode wide = error(postJson("/v1/completions", "{\"prompt\":\"a\",\"n\":5,\"max_tokens\":1}"), 400);
        assertEquals("n", wide.get("param").asText());
        assertTrue(wide.get("message").asText().contains("'n' must be in 1..4"), wide.toString());
        // more prompts than a request may carry
        JsonNode many = error(postJson("/v1/completions",
                "{\"prompt\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"max_tokens\":1}"), 400);
        assertEquals("prompt", many.get("param").asText());
        assertTrue(many.get("message").asText().contains("at most 4 prompts"), many.toString());
        // full now: a running request of n 4 leaves room for 4 sequences, not 6
        CompletableFuture<RawHttp.Response> blocker = CompletableFuture.supplyAsync(() -> {
            try {
                return postJson("/v1/completions", "{\"prompt\":\"Once\",\"n\":4,\"max_tokens\":400,"
                        + "\"ignore_eos\":true}");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ts.server.pendingRequests() < 4 && !blocker.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(4, ts.server.pendingRequests(), "the blocker holds four places");
        JsonNode busy = error(postJson("/v1/completions", "{\"prompt\":[\"a\",\"b\"],\"n\":3,\"max_tokens\":1}"), 429);
        assertEquals("rate_limit_exceeded", busy.get("code").asText());
        assertEquals(200, postJson("/v1/completions", "{\"prompt\":[\"a\",\"b\"],\"n\":2,\"max_tokens\":1}")
                .status(), "four more sequences fit");
        assertEquals(200, blocker.get().status());
        assertTrue(ts.engine.stats().running() <= 4);
        ts.engine.checkBlocks();
    }

    @Test
    void stopStringsAndStopTokensAreCapped() throws Exception {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 65; i++) {
            many.add("stop" + i);
        }
        JsonNode count = error(postJson("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2,\"stop\":"
                + JSON.writeValueAsString(many) + "}"), 400);
        assertEquals("stop", count.get("param").asText());
        assertTrue(count.get("message").asText().contains("at most 64 strings"), count.toString());
        JsonNode chars = error(postJson("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"stop\":[\"" + "x".repeat(4097) + "\"]}"), 400);
        assertEquals("stop", chars.get("param").asText());
        assertTrue(chars.get("message").asText().contains("4096 characters"), chars.toString());
        JsonNode ids = error(postJson("/v1/completions", "{\"prompt\":\"Hi\",\"stop_token_ids\":[3,100000]}"), 400);
        assertEquals("stop_token_ids", ids.get("param").asText());
        // at the limit, served
        assertEquals(200, postJson("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":3,\"stop\":"
                + JSON.writeValueAsString(many.subList(0, 64)) + "}").status());
    }

    @Test
    @Timeout(60)
    void aNonStreamingClientThatDisconnectsIsAborted() throws Exception {
        long abortedBefore = ts.engine.stats().abortedRequests();
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":480,\"n\":4,\"ignore_eos\":true}";
        try (Socket s = new Socket("127.0.0.1", ts.server.port())) {
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ts.engine.stats().running() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertTrue(ts.engine.stats().running() > 0, "generating when the client leaves");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((ts.engine.liveRequests() > 0 || ts.server.pendingRequests() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(0, ts.engine.liveRequests());
        assertEquals(0, ts.server.pendingRequests());
        // the stats are as of the engine's last step: let it take one more
        assertEquals(200, postJson("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":1}").status());
        assertTrue(ts.engine.stats().abortedRequests() > abortedBefore, "aborted, not run to its end: "
                + ts.engine.stats());
        ts.engine.checkBlocks();
    }

    @Test
    @Timeout(60)
    void aRequestPipelinedBehindANonStreamingOneIsNotLostSilently() throws Exception {
        String first = "{\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"ignore_eos\":true}";
        String second = "{\"prompt\":\"Hi\",\"max_tokens\":1}";
        try (Socket s = new Socket("127.0.0.1", ts.server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE + "Content-Length: "
                    + first.length() + "\r\n\r\n" + first).getBytes(StandardCharsets.UTF_8));
            out.flush();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ts.engine.liveRequests() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            // sent while the first generates: the disconnect probe reads it, so the server must say it closes
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE + "Content-Length: "
                    + second.length() + "\r\n\r\n" + second).getBytes(StandardCharsets.UTF_8));
            out.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.contains("\"completion_tokens\":200"), answer);
            int responses = answer.split("HTTP/1.1 ", -1).length - 1;
            if (responses == 1) {
                assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("connection: close"),
                        "a connection that drops a request says so: " + answer);
            } else {
                assertEquals(2, responses, answer);
            }
        }
    }

    /** Whether the server closes this connection within {@code limit} while bytes keep trickling in. */
    static boolean closedWhileTrickling(Socket s, byte[] bytes, Duration limit) throws Exception {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        s.setSoTimeout(100);
        long deadline = System.nanoTime() + limit.toNanos();
        int at = 0;
        while (System.nanoTime() < deadline) {
            try {
                if (at < bytes.length) {
                    out.write(bytes[at++]);
                    out.flush();
                }
            } catch (SocketException gone) {
                return true;
            }
            try {
                if (in.read() < 0) {
                    return true;
                }
            } catch (SocketTimeoutException quiet) {
                // still open: trickle the next byte
            } catch (SocketException gone) {
                return true;
            }
        }
        return false;
    }

    @Test
    @Timeout(60)
    void slowHeadersAndSlowBodiesAreCutAtTheReadTimeout() throws Exception {
        try (TestServer strict = new TestServer(ServerConfig.defaults().withReadTimeout(Duration.ofMillis(800)))) {
            int port = strict.server.port();
            byte[] headers = ("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE
                    + "X-Padding: " + "p".repeat(200) + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":2}";
            byte[] slowBody = ("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE
                    + "Content-Length: " + body.length() + "\r\n\r\n").getBytes(StandardCharsets.UTF_8);
            try (Socket idle = new Socket("127.0.0.1", port);
                    Socket a = new Socket("127.0.0.1", port);
                    Socket b = new Socket("127.0.0.1", port)) {
                // a trickles its headers; b sends its headers at once, then trickles its body
                b.getOutputStream().write(slowBody);
                byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
                CompletableFuture<Boolean> bodyCut = CompletableFuture.supplyAsync(() -> {
                    try {
                        return closedWhileTrickling(b, bodyBytes, Duration.ofSeconds(8));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                assertTrue(closedWhileTrickling(a, headers, Duration.ofSeconds(8)), "slow headers are cut");
                assertTrue(bodyCut.get(), "a slow body is cut");
                // a connection that sends nothing is idle, not slow: it still serves a request afterwards
                idle.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n" + JSON_TYPE
                        + "Connection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                idle.setSoTimeout(10_000);
                String answer = new String(idle.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            }
            assertTrue(strict.server.metrics().slowRequestsClosed.get() >= 2);
            assertEquals(200, post(strict, "/v1/completions", JSON_TYPE, "{\"prompt\":\"Hi\",\"max_tokens\":1}")
                    .status());
        }
    }

    @Test
    void tokenizeIsBoundByTheContextAndTheBodyLimit() throws Exception {
        JsonNode longText = error(postJson("/tokenize", "{\"prompt\":\"" + "Once upon a time. ".repeat(300) + "\"}"),
                400);
        assertEquals("prompt", longText.get("param").asText());
        assertTrue(longText.get("message").asText().contains("maximum context length is 512"), longText.toString());
        // far over any context: refused before it is encoded
        JsonNode huge = error(postJson("/tokenize", "{\"prompt\":\"" + "x".repeat(60_000) + "\"}"), 400);
        assertTrue(huge.get("message").asText().contains("characters cannot fit"), huge.toString());
        error(postJson("/tokenize", "{\"prompt\":\"" + "x".repeat(70_000) + "\"}"), 413);
        int[] many = new int[600];
        java.util.Arrays.fill(many, 403);
        JsonNode ids = error(postJson("/detokenize", "{\"tokens\":" + java.util.Arrays.toString(many) + "}"), 400);
        assertEquals("tokens", ids.get("param").asText());
        JsonNode chat = error(postJson("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\""
                + "Once upon a time. ".repeat(300) + "\"}]}"), 400);
        assertEquals("messages", chat.get("param").asText());
        assertEquals(200, postJson("/tokenize", "{\"prompt\":\"Once upon a time\"}").status());
    }

    @Test
    void jsonEndpointsNeedAJsonContentType() throws Exception {
        String body = "{\"prompt\":\"Hi\",\"max_tokens\":1}";
        for (String path : List.of("/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize")) {
            JsonNode plain = error(post(ts, path, "Content-Type: text/plain\r\n", body), 415);
            assertEquals("unsupported_media_type", plain.get("code").asText());
            error(post(ts, path, "Content-Type: application/x-www-form-urlencoded\r\n", body), 415);
            error(post(ts, path, "", body), 415);
        }
        assertEquals(200, post(ts, "/v1/completions", "Content-Type: Application/JSON; charset=utf-8\r\n", body)
                .status());
    }

    @Test
    void aKeylessLoopbackServerAnswersOnlyLocalhostNames() throws Exception {
        int port = ts.server.port();
        for (String host : List.of("evil.example", "evil.example:" + port, "127.0.0.1.evil.example",
                "localhost.evil.example", "10.0.0.1")) {
            JsonNode e = error(RawHttp.exchange(port, "GET", "/v1/models", host, "", null), 403);
            assertEquals("host_not_allowed", e.get("code").asText(), host);
            error(RawHttp.exchange(port, "POST", "/v1/completions", host, JSON_TYPE, "{\"prompt\":\"Hi\"}"), 403);
            error(RawHttp.exchange(port, "GET", "/", host, "", null), 403);
        }
        for (String host : List.of("localhost", "localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port,
                "app.localhost")) {
            assertEquals(200, RawHttp.exchange(port, "GET", "/v1/models", host, "", null).status(), host);
        }
        // with a key the key is the defence; bound elsewhere the check is off
        try (TestServer keyed = new TestServer(ServerConfig.defaults().withApiKey("k-0123456789abcdef"))) {
            assertEquals(200, RawHttp.exchange(keyed.server.port(), "GET", "/v1/models", "evil.example",
                    "Authorization: Bearer k-0123456789abcdef\r\n", null).status());
        }
        assertFalse(new HostFilter(ServerConfig.defaults().withHost("0.0.0.0")).active());
        assertTrue(new HostFilter(ServerConfig.defaults().withHost("::1")).active());
        assertTrue(new HostFilter(ServerConfig.defaults().withHost("localhost")).active());
    }

    @Test
    void crossOriginAccessIsOffByDefaultAndGrantedToTheListedOrigins() throws Exception {
        String preflight = "Origin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n"
                + "Access-Control-Request-Headers: authorization, content-type, x-stainless-os\r\n";
        RawHttp.Response refused = RawHttp.exchange(ts.server.port(), "OPTIONS", "/v1/chat/completions", "localhost",
                preflight, null);
        assertEquals("origin_not_allowed", error(refused, 403).get("code").asText());
        assertNull(refused.header("Access-Control-Allow-Origin"));
        RawHttp.Response plain = post(ts, "/v1/completions", JSON_TYPE + "Origin: http://app.example\r\n",
                "{\"prompt\":\"Hi\",\"max_tokens\":1}");
        assertNull(plain.header("Access-Control-Allow-Origin"), "no CORS header when none is configured");
        try (TestServer open = new TestServer(ServerConfig.defaults().withApiKey("k-0123456789abcdef")
                .withAllowedOrigins(List.of("http://app.example")))) {
            int port = open.server.port();
            RawHttp.Response ok = RawHttp.exchange(port, "OPTIONS", "/v1/chat/completions", "localhost", preflight,
                    null);
            assertEquals(204, ok.status(), ok.head());
            assertEquals("http://app.example", ok.header("Access-Control-Allow-Origin"));
            assertTrue(ok.header("Access-Control-Allow-Methods").contains("POST"));
            assertTrue(ok.header("Access-Control-Allow-Headers").contains("authorization"));
            RawHttp.Response call = post(open, "/v1/completions", JSON_TYPE + "Origin: http://app.example\r\n"
                    + "Authorization: Bearer k-0123456789abcdef\r\n", "{\"prompt\":\"Hi\",\"max_tokens\":1}");
            assertEquals(200, call.status());
            assertEquals("http://app.example", call.header("Access-Control-Allow-Origin"));
            RawHttp.Response other = RawHttp.exchange(port, "OPTIONS", "/v1/completions", "localhost",
                    preflight.replace("app.example", "evil.example"), null);
            error(other, 403);
            assertNull(other.header("Access-Control-Allow-Origin"));
        }
    }

    @Test
    void unknownRoutesAndWrongMethodsAnswerOpenAiErrors() throws Exception {
        int port = ts.server.port();
        for (String accept : List.of("", "Accept: application/json\r\n", "Accept: text/html\r\n")) {
            for (String path : List.of("/v1/nope", "/nope", "/v1/models/x/y", "/v2/completions")) {
                RawHttp.Response r = RawHttp.exchange(port, "GET", path, "localhost", accept, null);
                JsonNode e = error(r, 404);
                assertTrue(e.get("message").asText().contains(path), e.toString());
            }
        }
        for (String accept : List.of("", "Accept: application/json\r\n")) {
            error(RawHttp.exchange(port, "GET", "/v1/completions", "localhost", accept, null), 405);
            error(RawHttp.exchange(port, "DELETE", "/v1/models", "localhost", accept, null), 405);
            error(RawHttp.exchange(port, "PUT", "/tokenize", "localhost", accept + JSON_TYPE, "{}"), 405);
        }
        // an error object of our own with the same status is left as it is
        JsonNode model = error(postJson("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}"), 404);
        assertEquals("model_not_found", model.get("code").asText());
    }

    @Test
    void validationMessagesNameTheApiField() throws Exception {
        String chat = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
        String[][] cases = {
            {"/v1/completions", "\"prompt\":\"Hi\",\"top_p\":1.5", "top_p", "'top_p' must be in (0, 1]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"top_p\":0", "top_p", "(0, 1]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"top_p\":1e-50", "top_p", "(0, 1]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"repetition_penalty\":1e300", "repetition_penalty",
                "'repetition_penalty'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"top_k\":-5", "top_k", "'top_k'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"min_p\":2", "min_p", "'min_p' must be in [0, 1]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"repetition_penalty\":0", "repetition_penalty",
                "'repetition_penalty'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"presence_penalty\":3", "presence_penalty", "[-2, 2]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"frequency_penalty\":-3", "frequency_penalty", "[-2, 2]"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"temperature\":3", "temperature", "'temperature'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"max_tokens\":0", "max_tokens", "'max_tokens'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"n\":0", "n", "'n'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"logprobs\":30", "logprobs", "'logprobs'"},
            {"/v1/completions", "\"prompt\":\"Hi\",\"stop\":[\"\"]", "stop", "'stop'"},
            {"/v1/chat/completions", chat + ",\"max_completion_tokens\":0", "max_completion_tokens",
                "'max_completion_tokens'"},
            {"/v1/chat/completions", chat + ",\"top_p\":-1", "top_p", "'top_p'"},
            {"/v1/chat/completions", chat + ",\"top_logprobs\":30,\"logprobs\":true", "top_logprobs",
                "'top_logprobs'"},
        };
        for (String[] c : cases) {
            JsonNode e = error(postJson(c[0], "{" + c[1] + "}"), 400);
            assertEquals(c[2], e.get("param").asText(), c[1] + " → " + e);
            String message = e.get("message").asText();
            assertTrue(message.contains(c[3]), c[1] + " → " + message);
            for (String internal : List.of("topP", "topK", "minP", "repetitionPenalty", "presencePenalty",
                    "frequencyPenalty", "maxTokens")) {
                assertFalse(message.contains(internal), message);
            }
            assertNotEquals("null", e.get("param").asText());
        }
    }
}
