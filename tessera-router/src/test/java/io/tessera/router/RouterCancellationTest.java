package io.tessera.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Requests the router must give up on: a client that goes away (its request at the replica is
 * cancelled), and a replica that stops answering (SIGSTOP: its requests are failed over and it
 * leaves the rotation long before the request timeout).
 */
class RouterCancellationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static void await(String what, long millis, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within " + millis + " ms");
            Thread.sleep(20);
        }
    }

    /** Sends a completion request on a raw connection and returns it open. */
    private static Socket send(int port, String body) throws Exception {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        return s;
    }

    @Test
    void aClientThatGoesAwayCancelsItsRequestAtTheReplica() throws Exception {
        try (HoldingReplica replica = new HoldingReplica();
                Router router = new Router(List.of(URI.create("http://127.0.0.1:" + replica.port())), 1000, 64,
                        Duration.ofSeconds(60))) {
            int port = router.start("127.0.0.1", 0).getPort();
            // a stream, left after its first event
            try (Socket s = send(port, "{\"prompt\":\"a long story\",\"max_tokens\":4000,\"stream\":true}")) {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.UTF_8));
                for (String line = in.readLine(); !line.startsWith("data:"); line = in.readLine()) {
                    // the response head
                }
            }
            await("the replica sees the stream's connection closed", 10_000, () -> replica.released() == 1);
            // a non-streamed request, left while the replica is still working on it
            try (Socket s = send(port, "{\"prompt\":\"a long story\",\"max_tokens\":4000}")) {
                await("the replica gets the request", 10_000, () -> replica.held() == 2);
            }
            await("the replica sees the request's connection closed", 10_000, () -> replica.released() == 2);
            Replica r = router.replicas().get(0);
            await("the cancelled requests leave no load behind", 5_000, () -> r.outstandingTokens() == 0);
            assertTrue(r.healthy(), "a client going away is no fault of the replica: " + r.lastError());
        }
    }

    @Test
    void aStreamPastTheRequestTimeoutEndsWithAnErrorEventAndReleasesTheReplica() throws Exception {
        try (HoldingReplica replica = new HoldingReplica();
                Router router = new Router(List.of(URI.create("http://127.0.0.1:" + replica.port())),
                        RouterConfig.defaults().withRequestTimeout(Duration.ofSeconds(1)))) {
            int port = router.start("127.0.0.1", 0).getPort();
            try (Socket s = send(port, "{\"prompt\":\"a long story\",\"max_tokens\":4000,\"stream\":true}")) {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.UTF_8));
                String last = null;
                for (String line = in.readLine(); line != null && !line.equals("0"); line = in.readLine()) {
                    if (line.startsWith("data:")) {
                        last = line;
                    }
                }
                assertTrue(last != null && last.contains("\"error\"") && last.contains("timeout"), last);
            }
            await("the replica sees the timed-out request's connection closed", 10_000,
                    () -> replica.released() == 1);
        }
    }

    private static void signal(Process p, String sig) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, "kill -" + sig + " " + p.pid());
    }

    private CompletableFuture<HttpResponse<String>> complete(InetSocketAddress router, String body) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.getPort()
                + "/v1/completions")).timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aStalledReplicaIsFailedOverAndLeavesTheRotation() throws Exception {
        int[] pa = new int[1];
        int[] pb = new int[1];
        Process a = FakeReplica.process("a", 1500, pa);
        Process b = FakeReplica.process("b", 50, pb);
        RouterConfig config = RouterConfig.defaults().withHealthInterval(Duration.ofMillis(200))
                .withStallTimeout(Duration.ofSeconds(3)).withRequestTimeout(Duration.ofSeconds(120));
        try (Router router = new Router(List.of(URI.create("http://127.0.0.1:" + pa[0]),
                URI.create("http://127.0.0.1:" + pb[0])), config)) {
            InetSocketAddress addr = router.start("127.0.0.1", 0);
            Replica ra = router.replicas().get(0);
            await("both replicas pass a health check", 10_000, () -> ra.healthy()
                    && router.replicas().get(1).healthy());

            // 1. a non-streamed request in flight at a when a stops: it is answered by b
            CompletableFuture<HttpResponse<String>> first = complete(addr, "{\"prompt\":\"p\",\"max_tokens\":8}");
            await("the first request goes to a (both idle, a first)", 5_000, () -> ra.outstandingTokens() > 0);
            signal(a, "STOP");
            HttpResponse<String> r1 = first.get(30, TimeUnit.SECONDS);
            assertEquals(200, r1.statusCode(), r1.body());
            assertEquals("b", JSON.readTree(r1.body()).get("replica").asText());
            assertFalse(ra.healthy(), "the stalled replica is still in rotation");
            HttpResponse<String> r2 = complete(addr, "{\"prompt\":\"q\",\"max_tokens\":8}").get(30, TimeUnit.SECONDS);
            assertEquals("b", JSON.readTree(r2.body()).get("replica").asText());

            // 2. a resumes and comes back; a stream it is serving when it stops again ends with an error event
            signal(a, "CONT");
            await("a passes a health check again", 10_000, ra::healthy);
            await("a is idle", 10_000, () -> ra.outstandingTokens() == 0 && router.replicas().get(1)
                    .outstandingTokens() == 0);
            HttpResponse<Stream<String>> stream = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + addr.getPort() + "/v1/completions")).timeout(Duration.ofSeconds(30)).POST(
                            HttpRequest.BodyPublishers.ofString("{\"prompt\":\"s\",\"max_tokens\":8,\"stream\":true,"
                                    + "\"events\":1000,\"interval_ms\":20}"))
                    .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofLines());
            Iterator<String> lines = stream.body().filter(l -> l.startsWith("data:")).iterator();
            assertTrue(lines.next().contains("\"replica\":\"a\""), "the stream is served by a");
            signal(a, "STOP");
            String last = null;
            while (lines.hasNext()) {
                last = lines.next();
            }
            assertTrue(last != null && last.contains("\"error\""), "the stream ends with an error event: " + last);
            assertFalse(ra.healthy(), "the stalled replica is still in rotation");
            assertTrue(ra.lastError().contains("stalled") || ra.lastError().contains("health check"),
                    ra.lastError());
        } finally {
            signal(a, "CONT");
            a.destroyForcibly();
            b.destroyForcibly();
        }
    }
}
