package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Graceful shutdown: new requests get 503 while requests in flight finish within the grace, the
 * rest is aborted, everything is freed, then the listener closes.
 */
class ShutdownTest {

    @Test
    void abortsWhatOutlivesTheGraceAndStopsAccepting() throws Exception {
        // steps of at least 10 ms: the long request (480 steps) outlives the 3 s grace on any machine
        try (TestServer ts = new TestServer(ServerConfig.defaults().withShutdownGrace(Duration.ofMillis(3000)),
                io.tessera.engine.scheduler.SchedulerConfig.DEFAULT_MAX_SEQS, Duration.ofMillis(10))) {
            HttpClient http = HttpClient.newHttpClient();
            String url = ts.url();
            HttpRequest longOne = HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(
                    HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":480,\"n\":16,"
                            + "\"ignore_eos\":true,\"stream\":true}")).build();
            HttpRequest shortOne = HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(
                    HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":10,\"ignore_eos\":true}"))
                    .build();
            assertEquals(200, http.send(shortOne, HttpResponse.BodyHandlers.ofString()).statusCode()); // warm-up
            CompletableFuture<HttpResponse<String>> streaming = http.sendAsync(longOne,
                    HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> quick = http.sendAsync(shortOne, HttpResponse.BodyHandlers.ofString());
            // The quick request may already be done on a fast machine; it must not be lost either way.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            // pending counts sequences: 16 of the long request, 1 of the quick one
            while (ts.server.pendingRequests() < 17 && !quick.isDone() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(ts.server.pendingRequests() >= 1, "the long request is in flight when the server closes");
            Thread closing = Thread.ofVirtual().start(ts.server::close);
            // during the grace the listener stays: a new connection is told why it is not served
            long graceEnd = System.nanoTime() + Duration.ofMillis(1000).toNanos();
            RawHttp.Response refused;
            do {
                refused = RawHttp.exchange(ts.server.port(), "POST", "/v1/completions", "localhost",
                        "Content-Type: application/json\r\n", "{\"prompt\":\"Once\",\"max_tokens\":1}");
            } while (refused.status() == 200 && System.nanoTime() < graceEnd);
            assertEquals(503, refused.status(), refused.body());
            assertTrue(refused.body().contains("\"code\":\"server_shutting_down\""), refused.body());
            assertEquals(503, RawHttp.exchange(ts.server.port(), "GET", "/health", "localhost", "", null).status());
            closing.join(Duration.ofSeconds(30));
            assertFalse(closing.isAlive(), "close() returns after the grace");
            assertEquals(0, ts.server.pendingRequests());
            HttpResponse<String> q = quick.get();
            assertEquals(200, q.statusCode());
            assertTrue(q.body().contains("\"finish_reason\":\"length\""), q.body());
            HttpResponse<String> s = streaming.get();
            assertTrue(s.body().contains("\"finish_reason\":\"abort\""), "aborted at the end of the grace");
            assertTrue(s.body().endsWith("data: [DONE]\n\n"));
            ts.engine.checkBlocks();
            assertEquals(0, ts.engine.kvStats().usedBlocks());
            Exception e = assertThrows(Exception.class, () -> http.send(shortOne, HttpResponse.BodyHandlers.ofString()));
            assertTrue(e instanceof ConnectException || e.getCause() instanceof ConnectException
                    || e instanceof java.io.IOException, e.toString());
        }
    }
}
