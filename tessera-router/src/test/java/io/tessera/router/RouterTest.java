package io.tessera.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The data-parallel router over stand-in replicas: load balancing, prefix affinity, a replica killed under load. */
class RouterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private HttpResponse<String> post(InetSocketAddress router, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.getPort() + "/v1/completions"))
                .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI url(HttpServer s) {
        return URI.create("http://127.0.0.1:" + s.getAddress().getPort());
    }

    @Test
    void balancesLoadAndKeepsPrefixesTogether() throws Exception {
        HttpServer a = FakeReplica.start("a", 150);
        HttpServer b = FakeReplica.start("b", 150);
        try (Router router = new Router(List.of(url(a), url(b)), 200, 64, Duration.ofSeconds(10));
                ExecutorService pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            InetSocketAddress addr = router.start("127.0.0.1", 0);
            Map<String, AtomicInteger> byReplica = new ConcurrentHashMap<>();
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int k = i;
                fs.add(pool.submit(() -> {
                    HttpResponse<String> r = post(addr, "{\"prompt\":\"distinct prompt " + k + "\",\"max_tokens\":32}");
                    assertEquals(200, r.statusCode(), r.body());
                    byReplica.computeIfAbsent(JSON.readTree(r.body()).get("replica").asText(), x -> new AtomicInteger())
                            .incrementAndGet();
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            assertTrue(byReplica.get("a").get() >= 2 && byReplica.get("b").get() >= 2, byReplica.toString());
            // one after another, the same long prefix keeps going to the replica that has it cached
            String prefix = "Once upon a time ".repeat(20);
            String first = null;
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = post(addr, "{\"prompt\":\"" + prefix + i + "\",\"max_tokens\":8}");
                String who = JSON.readTree(r.body()).get("replica").asText();
                if (first == null) {
                    first = who;
                }
                assertEquals(first, who);
            }
            HttpResponse<String> st = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + addr.getPort()
                    + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("ok", JSON.readTree(st.body()).get("status").asText());
        } finally {
            a.stop(0);
            b.stop(0);
        }
    }

    @Test
    void aReplicaKilledUnderLoadCostsNoClientARequest() throws Exception {
        int[] pa = new int[1];
        int[] pb = new int[1];
        Process a = FakeReplica.process("a", 200, pa);
        Process b = FakeReplica.process("b", 200, pb);
        try (Router router = new Router(List.of(URI.create("http://127.0.0.1:" + pa[0]),
                URI.create("http://127.0.0.1:" + pb[0])), 200, 64, Duration.ofSeconds(10));
                ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
            InetSocketAddress addr = router.start("127.0.0.1", 0);
            List<Future<String>> fs = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                int k = i;
                fs.add(pool.submit(() -> {
                    boolean stream = k % 3 == 0;
                    HttpResponse<String> r = post(addr, "{\"prompt\":\"p" + k + "\",\"max_tokens\":16"
                            + (stream ? ",\"stream\":true" : "") + "}");
                    if (r.statusCode() != 200) {
                        JsonNode err = JSON.readTree(r.body());
                        assertTrue(err.has("error"), r.body());
                        return "error";
                    }
                    if (stream) {
                        assertTrue(r.body().contains("[DONE]") || r.body().contains("\"error\""), r.body());
                        return r.body().contains("[DONE]") ? "ok" : "stream-error";
                    }
                    return JSON.readTree(r.body()).get("replica").asText();
                }));
                if (i == 16) {
                    a.destroyForcibly().waitFor();
                }
            }
            int ok = 0;
            for (Future<String> f : fs) {
                String s = f.get();
                ok += s.equals("error") || s.equals("stream-error") ? 0 : 1;
            }
            // non-streamed requests are retried on b; a stream cut after its first byte ends with an SSE error event
            assertTrue(ok >= 40, ok + " of 48 completed");
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (router.replicas().get(0).healthy() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(!router.replicas().get(0).healthy(), "the killed replica is still in rotation");
            HttpResponse<String> r = post(addr, "{\"prompt\":\"after\",\"max_tokens\":4}");
            assertEquals("b", JSON.readTree(r.body()).get("replica").asText());
            assertEquals("degraded", router.status().get("status"));
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
        }
    }
}
