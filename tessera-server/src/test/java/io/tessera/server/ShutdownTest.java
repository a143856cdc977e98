package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** Graceful shutdown: stop accepting, let requests finish within the grace, abort the rest, free everything. */
class ShutdownTest {

    @Test
    void abortsWhatOutlivesTheGraceAndStopsAccepting() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults().withShutdownGrace(Duration.ofMillis(1500)))) {
            HttpClient http = HttpClient.newHttpClient();
            String url = ts.url();
            HttpRequest longOne = HttpRequest.newBuilder(URI.create(url + "/v1/completions")).POST(
                    HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":480,\"n\":16,"
                            + "\"ignore_eos\":true,\"stream\":true}")).build();
            HttpRequest shortOne = HttpRequest.newBuilder(URI.create(url + "/v1/completions")).POST(
                    HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":30,\"ignore_eos\":true}"))
                    .build();
            assertEquals(200, http.send(shortOne, HttpResponse.BodyHandlers.ofString()).statusCode()); // warm-up
            CompletableFuture<HttpResponse<String>> streaming = http.sendAsync(longOne,
                    HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> quick = http.sendAsync(shortOne, HttpResponse.BodyHandlers.ofString());
            // The quick request may already be done on a fast machine; it must not be lost either way.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (ts.server.pendingRequests() < 2 && !quick.isDone() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(ts.server.pendingRequests() >= 1, "the long request is in flight when the server closes");
            ts.server.close();
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
