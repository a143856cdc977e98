package io.tessera.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The router's part in peer prefix fetch, over two recording stand-in replicas: a request whose
 * prefix holder is busier than the slack allows goes to the other replica with a hint naming the
 * holder's KV address (replacing the client's own {@code kv_transfer_params}), and the decision is
 * counted; without a KV address for the holder, no hint is sent.
 */
class RouterPrefixFetchTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "Once upon a time there was a shared system prompt. ".repeat(8);

    /** Answers /health; records each completion body and holds those whose prompt starts with "HOLD". */
    private static final class Recording implements AutoCloseable {
        final HttpServer server;
        final LinkedBlockingQueue<JsonNode> bodies = new LinkedBlockingQueue<>();
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch holding = new CountDownLatch(1);

        Recording() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/health", ex -> answer(ex, "{}"));
            server.createContext("/v1/completions", ex -> {
                JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
                if (body.path("prompt").asText().startsWith("HOLD")) {
                    holding.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    bodies.add(body);
                }
                answer(ex, "{\"choices\":[{\"text\":\"ok\"}]}");
            });
            server.start();
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        static void answer(HttpExchange ex, String json) throws IOException {
            byte[] b = json.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        }

        @Override
        public void close() {
            release.countDown();
            server.stop(0);
        }
    }

    private final HttpClient http = HttpClient.newHttpClient();

    private CompletableFuture<HttpResponse<String>> post(String front, String body) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create(front + "/v1/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String completion(String prompt, String more) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":16" + more + "}";
    }

    /**
     * A sends {@code first} (A holds its prefix), then A is kept busy by a held request, then
     * {@code second} is sent: returns the body B received for it.
     */
    private JsonNode routeAwayFromBusyHolder(Router router, Recording a, Recording b, String second)
            throws Exception {
        String front = "http://127.0.0.1:" + router.start("127.0.0.1", 0).getPort();
        assertEquals(200, post(front, completion(PREFIX + "first", "")).get(30, TimeUnit.SECONDS).statusCode());
        assertFalse(a.bodies.poll(10, TimeUnit.SECONDS).has("kv_transfer_params"));
        CompletableFuture<HttpResponse<String>> held = post(front, completion("HOLD another prompt", ""));
        assertTrue(a.holding.await(10, TimeUnit.SECONDS), "the held request reached the first replica");
        assertEquals(200, post(front, second).get(30, TimeUnit.SECONDS).statusCode());
        JsonNode got = b.bodies.poll(10, TimeUnit.SECONDS);
        a.release.countDown();
        assertEquals(200, held.get(30, TimeUnit.SECONDS).statusCode());
        return got;
    }

    @Test
    void aRequestSentAwayFromItsBusyHolderCarriesAHintToFetchFromIt() throws Exception {
        try (Recording a = new Recording(); Recording b = new Recording();
                Router router = new Router(List.of(a.url(), b.url()), RouterConfig.defaults()
                        .withAffinitySlackTokens(0)).peerPrefixFetch(List.of("127.0.0.1:7101", "-"))) {
            // the client's own kv_transfer_params are replaced by the router's hint
            JsonNode got = routeAwayFromBusyHolder(router, a, b, completion(PREFIX + "second",
                    ",\"kv_transfer_params\":{\"do_remote_prefill\":true,\"remote_host\":\"evil\",\"remote_port\":1}"));
            JsonNode hint = got.get("kv_transfer_params");
            assertEquals(Map.of("fetch_prefix_from_peer", true, "remote_host", "127.0.0.1", "remote_port", 7101),
                    JSON.convertValue(hint, Map.class));
            assertEquals(PREFIX + "second", got.get("prompt").asText());
            Map<?, ?> status = router.status();
            assertEquals(1L, ((Number) status.get("prefix_fetch_hints")).longValue());
            assertEquals(0L, ((Number) status.get("prefix_affinity_hits")).longValue());
        }
    }

    @Test
    void aHolderWithoutAKvAddressGetsNoHint() throws Exception {
        try (Recording a = new Recording(); Recording b = new Recording();
                Router router = new Router(List.of(a.url(), b.url()), RouterConfig.defaults()
                        .withAffinitySlackTokens(0)).peerPrefixFetch(List.of("-", "127.0.0.1:7102"))) {
            JsonNode got = routeAwayFromBusyHolder(router, a, b, completion(PREFIX + "second", ""));
            assertFalse(got.has("kv_transfer_params"), got.toString());
            assertEquals(0L, ((Number) router.status().get("prefix_fetch_hints")).longValue());
        }
    }

    @Test
    void replicaKvAddressesAreChecked() {
        List<URI> two = List.of(URI.create("http://127.0.0.1:1"), URI.create("http://127.0.0.1:2"));
        for (List<String> bad : List.of(List.of("127.0.0.1:7100"), List.of("127.0.0.1", "-"),
                List.of("127.0.0.1:0", "-"), List.of("127.0.0.1:70000", "-"), List.of(":7100", "-"),
                List.of("h:71x", "-"))) {
            try (Router r = new Router(two, RouterConfig.defaults())) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.peerPrefixFetch(bad));
                assertTrue(e.getMessage().contains("KV address"), e.getMessage());
            }
        }
    }
}
