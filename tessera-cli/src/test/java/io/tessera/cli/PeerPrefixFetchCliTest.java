package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import io.tessera.router.Router;
import io.tessera.router.RouterConfig;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer prefix fetch with real {@code tessera serve} replicas (stories260K) that list each other in
 * {@code --kv-peers}: behind the router, a request sent away from its busy prefix holder fetches the
 * prefix from it and answers as a cold recompute does; a holder killed (SIGKILL) mid-fetch means a
 * local prefill with the same answer; hostile hints get a 400 or are ignored; no block stays taken.
 */
class PeerPrefixFetchCliTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> ENV = Map.of("TESSERA_CLUSTER_TOKEN", "a-kv-transfer-token-of-32-chars!");
    private static final String PREFIX = "Once upon a time, there was a little girl named Lily. She loved to play "
            + "outside in the park with her big red ball. One day, she saw a small dog under a tree. The dog was "
            + "sad and alone. Lily wanted to help the dog, so she";

    @TempDir
    Path dir;

    private static String[] replica(int listen, String peers, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of(TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--kv-cache-memory", "16M", "--kv-transfer-listen",
                "127.0.0.1:" + listen, "--kv-peers", peers));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static String completion(String prompt) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":24,\"temperature\":0,\"logprobs\":2}";
    }

    private static String withHint(String prompt, String hint) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":24,\"temperature\":0,\"logprobs\":2,"
                + "\"kv_transfer_params\":" + hint + "}";
    }

    private static String hint(int port) {
        return "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"127.0.0.1\",\"remote_port\":" + port + "}";
    }

    /** The choices' text and logprobs and the usage of a whole response, without ids and times. */
    private static String essence(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        StringBuilder s = new StringBuilder();
        for (JsonNode c : j.get("choices")) {
            s.append(c.path("text").asText()).append('|').append(c.path("logprobs")).append('|')
                    .append(c.path("finish_reason").asText()).append('\n');
        }
        JsonNode u = j.get("usage");
        return s.append(u.get("prompt_tokens")).append('/').append(u.get("completion_tokens")).toString();
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(50);
        }
    }

    /** No block in use, pinned or loading: the replica's own audit as /metrics shows it. */
    private static void noBlockTaken(ServeProcess p) throws InterruptedException {
        waitFor(p.url() + " freed its blocks", () -> p.metric("tessera_kv_blocks_used") == 0
                && p.metric("tessera_kv_transfer_pinned_blocks") == 0
                && p.metric("tessera_kv_transfer_loading_blocks") == 0);
    }

    private static double connector(ServeProcess p, String counter) {
        return p.metric("tessera_kv_transfer_connector{counter=\"" + counter + "\"}");
    }

    @Test
    void behindTheRouterAReplicaFetchesABusyHoldersPrefixAndAnswersAsARecompute() throws Exception {
        int kvA = ServeProcess.freePort();
        int kvB = ServeProcess.freePort();
        try (ServeProcess a = ServeProcess.start(dir, "a", ENV, replica(kvA, "127.0.0.1:" + kvB));
                ServeProcess b = ServeProcess.start(dir, "b", ENV, replica(kvB, "127.0.0.1:" + kvA));
                Router router = new Router(List.of(URI.create(a.url()), URI.create(b.url())),
                        RouterConfig.defaults().withAffinitySlackTokens(0))
                        .peerPrefixFetch(List.of("127.0.0.1:" + kvA, "127.0.0.1:" + kvB))) {
            String front = "http://127.0.0.1:" + router.start("127.0.0.1", 0).getPort();
            HttpClient http = HttpClient.newHttpClient();
            String prompt = PREFIX + " took the dog home.";
            // through the router to the first replica (both idle): computed cold there, and its prefix held
            String cold = essence(http.send(HttpRequest.newBuilder(URI.create(front + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            completion(prompt))).build(), HttpResponse.BodyHandlers.ofString()));
            assertEquals(1, ((Number) ((List<?>) router.status().get("replicas")).stream()
                    .map(m -> ((Map<?, ?>) m).get("served")).toList().get(0)).intValue(), "the holder served it");
            // a long stream keeps the holder busy...
            CompletableFuture<HttpResponse<InputStream>> busy = http.sendAsync(HttpRequest.newBuilder(URI.create(front
                    + "/v1/completions")).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers
                    .ofString("{\"prompt\":\"The sun\",\"max_tokens\":160,\"ignore_eos\":true,\"stream\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            InputStream stream = busy.get(30, TimeUnit.SECONDS).body();
            assertTrue(stream.read() >= 0, "the stream started");
            // ...so the same prompt goes to the other replica, told to fetch the prefix from the holder
            HttpResponse<String> fetched = http.send(HttpRequest.newBuilder(URI.create(front + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            completion(prompt))).build(), HttpResponse.BodyHandlers.ofString());
            stream.readAllBytes();
            stream.close();
            assertEquals(cold, essence(fetched));
            assertEquals(1L, ((Number) router.status().get("prefix_fetch_hints")).longValue());
            assertTrue(connector(b, "prefix_tokens_fetched") >= 32, "the prefix came from the holder: "
                    + connector(b, "prefix_tokens_fetched"));
            assertEquals(connector(b, "prefix_tokens_fetched"), 16 * connector(a, "prefix_blocks_sent"));
            assertEquals(0, b.metric("tessera_kv_transfer_load_failures_total"));
            noBlockTaken(a);
            noBlockTaken(b);
        }
    }

    @Test
    void aHolderKilledMidFetchMeansALocalPrefillAndHostileHintsAreRefusedOrIgnored() throws Exception {
        int kvA = ServeProcess.freePort();
        int kvB = ServeProcess.freePort();
        int nobody = ServeProcess.freePort();
        // the holder waits 3 s before it sends anything: time to kill it mid-fetch
        try (ServeProcess a = ServeProcess.start(dir, "a", ENV, replica(kvA, "127.0.0.1:" + kvB,
                "--kv-link-shaping", "1G,3000"));
                ServeProcess b = ServeProcess.start(dir, "b", ENV, replica(kvB, "127.0.0.1:" + kvA + ",127.0.0.1:"
                        + nobody))) {
            String prompt = PREFIX + " gave it some water.";
            String cold = essence(a.post("/v1/completions", completion(prompt)));
            CompletableFuture<HttpResponse<String>> pending = CompletableFuture.supplyAsync(() -> {
                try {
                    return b.post("/v1/completions", withHint(prompt, hint(kvA)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            waitFor("the holder pinned the prefix", () -> a.metric("tessera_kv_transfer_pinned_blocks") > 0);
            a.kill();
            assertEquals(cold, essence(pending.get(60, TimeUnit.SECONDS)));
            assertEquals(1, b.metric("tessera_kv_transfer_load_failures_total"));
            assertEquals(0, connector(b, "prefix_tokens_fetched"));
            noBlockTaken(b);

            // a hint naming a peer in --kv-peers where nothing listens: computed here
            assertEquals(cold, essence(b.post("/v1/completions", withHint(prompt, hint(nobody)))));
            // a hint naming an address outside --kv-peers: ignored, counted, computed here
            assertEquals(cold, essence(b.post("/v1/completions", withHint(prompt,
                    "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"10.0.0.9\",\"remote_port\":7100}"))));
            assertEquals(1, connector(b, "prefix_hints_ignored"));
            // malformed hints: a 400 naming the field
            for (String bad : List.of("{\"fetch_prefix_from_peer\":true,\"remote_host\":\"127.0.0.1\"}",
                    "{\"fetch_prefix_from_peer\":true,\"remote_host\":\"127.0.0.1\",\"remote_port\":\"" + kvA + "\"}",
                    "{\"fetch_prefix_from_peer\":true,\"remote_host\":[],\"remote_port\":" + kvA + "}",
                    "{\"fetch_prefix_from_peer\":1,\"remote_host\":\"127.0.0.1\",\"remote_port\":" + kvA + "}",
                    "{\"fetch_prefix_from_peer\":true,\"do_remote_decode\":true}")) {
                HttpResponse<String> r = b.post("/v1/completions", withHint("x", bad));
                assertEquals(400, r.statusCode(), bad + " -> " + r.body());
                assertTrue(r.body().contains("kv_transfer_params") || r.body().contains("remote_host")
                        || r.body().contains("fetch_prefix_from_peer"), bad + " -> " + r.body());
            }
            noBlockTaken(b);
            assertTrue(b.process.isAlive());
        }
    }
}
