package io.tessera.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What reaches the router's front that it must not forward: request targets naming other hosts,
 * malformed requests, smuggling shapes, oversized bodies. Each is answered (a JSON error) and its
 * connection closed; nothing of it reaches a replica or any other host, and no replica's health
 * changes because of it.
 */
class RouterFrontTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ANSWER_WITHIN_MS = 5000;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static URI url(HttpServer s) {
        return URI.create("http://127.0.0.1:" + s.getAddress().getPort());
    }

    private int forwarded(HttpServer replica) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url(replica) + "/fake/stats")).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).get("requests").asInt();
    }

    private HttpResponse<String> complete(InetSocketAddress router, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + router.getPort() + "/v1/completions"))
                .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Each request is answered with {@code status} and an OpenAI-style error, and the connection closed. */
    private static void assertRefused(int port, List<String> requests, int status) throws IOException {
        List<String> wrong = new ArrayList<>();
        for (String req : requests) {
            RawHttp.Reply r = RawHttp.exchange(port, req, ANSWER_WITHIN_MS);
            boolean jsonError;
            try {
                JsonNode e = JSON.readTree(r.body()).path("error");
                jsonError = e.path("message").isTextual() && e.path("type").isTextual();
            } catch (IOException x) {
                jsonError = false;
            }
            if (r.status() != status || !r.closed() || !jsonError) {
                wrong.add(req.lines().findFirst().orElse("") + " -> " + (r.closed() ? "" : "(still open) ")
                        + r.text().lines().findFirst().orElse("(nothing)") + " " + r.body());
            }
        }
        assertTrue(wrong.isEmpty(), "not refused with " + status + " and closed: " + String.join("\n", wrong));
    }

    private static String get(String target) {
        return "GET " + target + " HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer secret\r\n"
                + "Connection: close\r\n\r\n";
    }

    @Test
    void forwardsOnlyToItsReplicasNeverToAHostTheClientNames() throws Exception {
        AtomicInteger victimHits = new AtomicInteger();
        HttpServer victim = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        victim.createContext("/", ex -> {
            victimHits.incrementAndGet();
            byte[] b = "internal secret".getBytes();
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        victim.start();
        HttpServer replica = FakeReplica.start("a", 0);
        String v = "127.0.0.1:" + victim.getAddress().getPort();
        try (Router router = new Router(List.of(url(replica)), 1000, 64, Duration.ofSeconds(10))) {
            int port = router.start("127.0.0.1", 0).getPort();
            assertRefused(port, List.of(
                    get("http://" + v + "/s.txt"),
                    get("HTTP://" + v + "/s.txt"),
                    "POST http://" + v + "/s.txt HTTP/1.1\r\nHost: router\r\nContent-Length: 2\r\n\r\n{}",
                    get("//" + v + "/s.txt"),
                    get("///" + v + "/s.txt"),
                    get(v + "/s.txt"),
                    get("@" + v + "/s.txt"),
                    get("\\\\" + v + "/s.txt"),
                    get("/\\" + v + "/s.txt"),
                    "CONNECT " + v + " HTTP/1.1\r\nHost: " + v + "\r\n\r\n",
                    "OPTIONS * HTTP/1.1\r\nHost: router\r\n\r\n"), 400);
            // dot segments and encoded slashes stay paths on the replica
            for (String target : List.of("/..//" + v + "/s.txt", "/./%2F%2F" + v + "/s.txt", "/%2e%2e/" + v)) {
                RawHttp.Reply r = RawHttp.exchange(port, get(target), ANSWER_WITHIN_MS);
                assertEquals(404, r.status(), target + " -> " + r.text());
            }
            assertEquals(3, forwarded(replica));
            // what a replica's CORS policy needs goes there and back
            RawHttp.Reply cors = RawHttp.exchange(port, "GET /v1/x HTTP/1.1\r\nHost: router\r\n"
                    + "Origin: http://app.example\r\nConnection: close\r\n\r\n", ANSWER_WITHIN_MS);
            assertTrue(cors.text().toLowerCase(java.util.Locale.ROOT).contains(
                    "access-control-allow-origin: http://app.example"), cors.text());
            assertEquals(0, victimHits.get(), "the router fetched from a host a client named");
        } finally {
            replica.stop(0);
            victim.stop(0);
        }
    }

    @Test
    void requestsNamingOtherHostsDoNotTakeReplicasOutOfTheRotation() throws Exception {
        HttpServer a = FakeReplica.start("a", 0);
        HttpServer b = FakeReplica.start("b", 0);
        try (Router router = new Router(List.of(url(a), url(b)), 1000, 64, Duration.ofSeconds(10))) {
            InetSocketAddress addr = router.start("127.0.0.1", 0);
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                for (String target : List.of("http://127.0.0.1:1/x", "//127.0.0.1:1/x")) {
                    statuses.add(RawHttp.exchange(addr.getPort(), get(target), ANSWER_WITHIN_MS).status());
                }
            }
            for (Replica r : router.replicas()) {
                assertTrue(r.healthy(), r + " left the rotation: " + r.lastError());
            }
            assertEquals(List.of(400), statuses.stream().distinct().toList());
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = complete(addr, "{\"prompt\":\"p" + i + "\",\"max_tokens\":4}");
                assertEquals(200, r.statusCode(), r.body());
            }
        } finally {
            a.stop(0);
            b.stop(0);
        }
    }

    @Test
    void malformedRequestsAreAnsweredAndClosedPromptlyAndNeverForwarded() throws Exception {
        HttpServer replica = FakeReplica.start("a", 0);
        try (Router router = new Router(List.of(url(replica)), 1000, 64, Duration.ofSeconds(10))) {
            int port = router.start("127.0.0.1", 0).getPort();
            assertRefused(port, List.of(
                    get("/%"),
                    get("/v1/models%"),
                    get("/v1/models?x=%zz"),
                    get("/v1/%G0"),
                    get("@host"),
                    get("ftp:"),
                    get("ftp://127.0.0.1/x"),
                    get("/v1\\models"),
                    get("/v1/models#frag"),
                    get("/v1/\"models\""),
                    get("/v1/mod\u00e9ls"),
                    get(""),
                    "CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n",
                    "HELLO\r\n\r\n",
                    "\u00ff\u00fe\u0080 \u0001\r\n\r\n",
                    "GET /v1/models HTTP/9.9\r\nHost: router\r\n\r\n",
                    "GET /v1/models HTTP/1.1\r\nthis is no header\r\n\r\n",
                    "GET /v1/models extra HTTP/1.1\r\nHost: router\r\n\r\n"), 400);
            assertRefused(port, List.of("TRACE /v1/models HTTP/1.1\r\nHost: router\r\n\r\n"), 405);
            assertTrue(RawHttp.exchange(port, "TRACE / HTTP/1.1\r\nHost: router\r\n\r\n", ANSWER_WITHIN_MS).text()
                    .contains("allow: GET, HEAD, POST"), "a 405 lists the methods served");
            assertRefused(port, List.of(get("/" + "a".repeat(10_000))), 414);
            assertRefused(port, List.of("GET /v1/models HTTP/1.1\r\nHost: router\r\nX-Big: " + "b".repeat(20_000)
                    + "\r\n\r\n"), 431);
            assertEquals(0, forwarded(replica), "a malformed request reached the replica");
            // the router still serves
            HttpResponse<String> ok = complete(new InetSocketAddress("127.0.0.1", port),
                    "{\"prompt\":\"x\",\"max_tokens\":2}");
            assertEquals(200, ok.statusCode(), ok.body());
        } finally {
            replica.stop(0);
        }
    }

    @Test
    void ambiguousFramingIsRefusedAsJettyRefusesIt() throws Exception {
        HttpServer replica = FakeReplica.start("a", 0);
        try (Router router = new Router(List.of(url(replica)), 1000, 64, Duration.ofSeconds(10))) {
            int port = router.start("127.0.0.1", 0).getPort();
            String post = "POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n";
            String body = "{\"prompt\":\"x\"}";
            String chunked = Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
            assertRefused(port, List.of(
                    post + "Content-Length: " + chunked.length() + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
                    post + "Transfer-Encoding: chunked\r\nContent-Length: " + chunked.length() + "\r\n\r\n" + chunked,
                    post + "Content-Length: " + body.length() + "\r\nContent-Length: 3\r\n\r\n" + body,
                    post + "Content-Length: " + body.length() + "\r\nContent-Length: " + body.length() + "\r\n\r\n"
                            + body,
                    post + "Content-Length: +" + body.length() + "\r\n\r\n" + body,
                    post + "Content-Length: -1\r\n\r\n" + body,
                    post + "Content-Length: 0x10\r\n\r\n" + body,
                    post + "Content-Length : " + body.length() + "\r\n\r\n" + body,
                    post + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked,
                    post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
                    post + "Transfer-Encoding: xchunked\r\n\r\n" + chunked,
                    post.replace("HTTP/1.1", "HTTP/1.0") + "Transfer-Encoding: chunked\r\n\r\n" + chunked,
                    post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n"), 400);
            assertEquals(0, forwarded(replica), "a smuggling shape reached the replica");
            RawHttp.Reply ok = RawHttp.exchange(port, post + "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunked, ANSWER_WITHIN_MS);
            assertEquals(200, ok.status(), ok.text());
        } finally {
            replica.stop(0);
        }
    }

    @Test
    void aBodyOverTheReplicasLimitIs413AndNotForwarded() throws Exception {
        HttpServer replica = FakeReplica.start("a", 0);
        try (Router router = new Router(List.of(url(replica)), 1000, 64, Duration.ofSeconds(10))) {
            int port = router.start("127.0.0.1", 0).getPort();
            int limit = 4 << 20; // tessera serve's default --max-body-size
            String post = "POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n";
            String big = "{\"prompt\":\"" + "x".repeat(limit) + "\"}";
            String chunk = Integer.toHexString(big.length()) + "\r\n" + big + "\r\n0\r\n\r\n";
            assertRefused(port, List.of(
                    post + "Content-Length: " + big.length() + "\r\n\r\n" + big,
                    post + "Content-Length: " + (1L << 40) + "\r\n\r\n",
                    post + "Transfer-Encoding: chunked\r\n\r\n" + chunk), 413);
            assertEquals(0, forwarded(replica), "an oversized body reached the replica");
            HttpResponse<String> ok = complete(new InetSocketAddress("127.0.0.1", port), "{\"prompt\":\""
                    + "y".repeat(limit - 100) + "\",\"max_tokens\":2}");
            assertEquals(200, ok.statusCode(), ok.body());
        } finally {
            replica.stop(0);
        }
    }

    @Test
    void slowAndIdleClientsAreCutOff() throws Exception {
        HttpServer replica = FakeReplica.start("a", 0);
        RouterConfig config = RouterConfig.defaults().withRequestReadTimeout(Duration.ofSeconds(1))
                .withIdleTimeout(Duration.ofSeconds(1));
        try (Router router = new Router(List.of(url(replica)), config)) {
            int port = router.start("127.0.0.1", 0).getPort();
            // a request that never ends, and bytes that never make a request line: 408 after the read timeout
            assertRefused(port, List.of("POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Length: 100\r\n\r\n{",
                    "GET /v1/models HTTP/1.1\r\nHost: rou", "\u0000\u0001\u0002\r\n\r\n"), 408);
            // a connection that sends nothing is closed after the idle timeout
            RawHttp.Reply idle = RawHttp.exchange(port, "", ANSWER_WITHIN_MS);
            assertTrue(idle.closed() && idle.text().isEmpty(), idle.text());
            assertEquals(0, forwarded(replica));
        } finally {
            replica.stop(0);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        HttpServer replica = FakeReplica.start("a", 300);
        try (Router router = new Router(List.of(url(replica)), 1000, 64, Duration.ofSeconds(10))) {
            int port = router.start("127.0.0.1", 0).getPort();
            String post = "POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 14\r\n\r\n{\"prompt\":\"x\"}";
            RawHttp.Reply r = RawHttp.exchange(port, post + "GET /health HTTP/1.1\r\nHost: router\r\n\r\n"
                    + post.replace("Host: router", "Host: router\r\nConnection: close"), ANSWER_WITHIN_MS);
            int first = r.text().indexOf("\"choices\"");
            int health = r.text().indexOf("\"replicas\"");
            int last = r.text().lastIndexOf("\"choices\"");
            assertTrue(r.closed() && first >= 0 && first < health && health < last, r.text());
        } finally {
            replica.stop(0);
        }
    }
}
