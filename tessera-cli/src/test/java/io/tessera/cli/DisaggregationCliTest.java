package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.router.Router;
import io.tessera.router.RouterConfig;
import io.tessera.core.TestModels;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefill/decode disaggregation with real {@code tessera serve} processes (stories260K) behind
 * {@code tessera router --prefill --decode}: the client sees the response one instance gives
 * (streamed and not, usage and logprobs); a prefill instance killed in the middle of a prompt, or a
 * transfer slower than the decode instance's timeout, means a local prefill on the decode instance
 * and the same answer; a decode instance killed while it pulls gives a clean error, and no block
 * stays taken on the prefill instance.
 */
class DisaggregationCliTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> ENV = Map.of("TESSERA_CLUSTER_TOKEN", "a-kv-transfer-token-of-32-chars!");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    private static String[] model(String... more) {
        List<String> a = new java.util.ArrayList<>(List.of(TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--kv-cache-memory", "16M"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private HttpResponse<String> post(String base, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A sample of {@code /metrics}: {@code name} or {@code name{label="v"}}; the sample's other labels
     * (the model's name) may be anything.
     */
    private double metric(String base, String query) throws Exception {
        String m = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        int brace = query.indexOf('{');
        String name = brace < 0 ? query : query.substring(0, brace);
        String label = brace < 0 ? "" : query.substring(brace + 1, query.length() - 1);
        Matcher x = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$").matcher(m);
        while (x.find()) {
            if (label.isEmpty() || (x.group(1) != null && x.group(1).contains(label))) {
                return Double.parseDouble(x.group(2));
            }
        }
        return Double.NaN;
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(50);
        }
    }

    private BooleanSupplier noBlockTaken(String base) {
        return () -> {
            try {
                return metric(base, "tessera_kv_blocks_used") == 0;
            } catch (Exception e) {
                return false;
            }
        };
    }

    /** The choices' text and logprob tokens and the usage of a whole response, without ids and times. */
    private static String essence(String body) throws Exception {
        JsonNode j = JSON.readTree(body);
        StringBuilder s = new StringBuilder();
        for (JsonNode c : j.get("choices")) {
            s.append(c.path("text").asText(c.path("message").path("content").asText())).append('|')
                    .append(c.path("logprobs")).append('|').append(c.path("finish_reason").asText()).append('\n');
        }
        JsonNode u = j.get("usage");
        return s.append(u.get("prompt_tokens")).append('/').append(u.get("completion_tokens")).toString();
    }

    /** The streamed content deltas and the final usage of an SSE response. */
    private static String streamed(String sse) throws Exception {
        StringBuilder s = new StringBuilder();
        String usage = "";
        for (String line : sse.split("\n")) {
            if (!line.startsWith("data: {")) {
                continue;
            }
            JsonNode j = JSON.readTree(line.substring(6));
            assertTrue(!j.has("error"), line);
            for (JsonNode c : j.path("choices")) {
                s.append(c.path("delta").path("content").asText(""));
            }
            if (j.hasNonNull("usage")) {
                usage = j.get("usage").get("prompt_tokens") + "/" + j.get("usage").get("completion_tokens");
            }
        }
        return s + "|" + usage;
    }

    @Test
    void theClientSeesOneInstancesAnswerAndAPrefillInstanceKilledMidPromptMeansALocalPrefill() throws Exception {
        int kvPort = ServeProcess.freePort();
        // 4 tokens a step: a long prompt takes the prefill instance many steps, time to kill it mid-prompt
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill", ENV, model("--kv-role", "prefill",
                "--kv-transfer-listen", "127.0.0.1:" + kvPort, "--max-batched-tokens", "4"));
                ServeProcess decode = ServeProcess.start(dir, "decode", ENV, model("--kv-role", "decode",
                        "--kv-peers", "127.0.0.1:" + kvPort));
                Router router = Router.disaggregated(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), RouterConfig.defaults(), 0)) {
            InetSocketAddress a = router.start("127.0.0.1", 0);
            String front = "http://127.0.0.1:" + a.getPort();
            String completion = "{\"prompt\":\"Once upon a time, there was a little girl named Lily. She loved to\","
                    + "\"max_tokens\":24,\"temperature\":0,\"logprobs\":2}";
            String chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a dog and a cat\"}],"
                    + "\"max_tokens\":20,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
            // one instance alone: the prefill instance asked directly, without a transfer (the decode
            // instance's prefix cache would otherwise hold the prompts, and it would load little)
            String alone = essence(post(prefill.url(), "/v1/completions", completion).body());
            String aloneStream = streamed(post(prefill.url(), "/v1/chat/completions", chat).body());
            double loadedBefore = metric(decode.url(), "tessera_kv_transfer_loaded_tokens_total");

            HttpResponse<String> r = post(front, "/v1/completions", completion);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(alone, essence(r.body()));
            assertTrue(!r.body().contains("kv_transfer_params"), r.body());
            HttpResponse<String> s = post(front, "/v1/chat/completions", chat);
            assertEquals(200, s.statusCode(), s.body());
            assertEquals(aloneStream, streamed(s.body()));
            assertTrue(metric(decode.url(), "tessera_kv_transfer_loaded_tokens_total") > loadedBefore + 10,
                    "the decode instance loaded the prompts' KV");
            assertEquals(0, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));
            waitFor("the prefill instance released its pins", noBlockTaken(prefill.url()));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
            @SuppressWarnings("unchecked")
            Map<String, Object> d = (Map<String, Object>) router.status().get("disaggregation");
            assertEquals(2L, d.get("disaggregated"));

            // malformed or refused kv_transfer_params: a 400 naming the field, and nothing pinned or loaded
            String ok = "\"do_remote_prefill\":true,\"transfer_id\":\"t\",\"remote_host\":\"127.0.0.1\",";
            Map<String, String[]> hostile = new java.util.LinkedHashMap<>();
            hostile.put("\"x\"", new String[] {decode.url(), "must be an object"});
            hostile.put("{}", new String[] {decode.url(), "exactly one"});
            hostile.put("{\"do_remote_prefill\":true,\"do_remote_decode\":true}", new String[] {decode.url(),
                    "exactly one"});
            hostile.put("{" + ok + "\"remote_port\":\"" + kvPort + "\"}", new String[] {decode.url(), "port"});
            hostile.put("{" + ok + "\"remote_port\":70000}", new String[] {decode.url(), "port"});
            hostile.put("{\"do_remote_prefill\":true,\"transfer_id\":\"a b\",\"remote_host\":\"127.0.0.1\","
                    + "\"remote_port\":" + kvPort + "}", new String[] {decode.url(), "printable"});
            hostile.put("{\"do_remote_prefill\":true,\"transfer_id\":\"" + "t".repeat(129) + "\",\"remote_host\":"
                    + "\"127.0.0.1\",\"remote_port\":" + kvPort + "}", new String[] {decode.url(), "128"});
            // naming an address outside --kv-peers: connecting would send the cluster token there
            hostile.put("{\"do_remote_prefill\":true,\"transfer_id\":\"t\",\"remote_host\":\"10.0.0.1\","
                    + "\"remote_port\":9}", new String[] {decode.url(), "--kv-peers"});
            hostile.put("{\"do_remote_decode\":true}", new String[] {decode.url(), "does not prefill for others"});
            hostile.put("{" + ok + "\"remote_port\":" + kvPort + "}", new String[] {prefill.url(),
                    "does not decode for others"});
            for (Map.Entry<String, String[]> h : hostile.entrySet()) {
                HttpResponse<String> bad = post(h.getValue()[0], "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,"
                        + "\"kv_transfer_params\":" + h.getKey() + "}");
                assertEquals(400, bad.statusCode(), h.getKey() + " -> " + bad.body());
                assertTrue(bad.body().contains("kv_transfer_params") && bad.body().contains(h.getValue()[1]),
                        h.getKey() + " -> " + bad.body());
            }
            HttpResponse<String> streamedPrefill = post(prefill.url(), "/v1/completions", "{\"prompt\":\"x\","
                    + "\"stream\":true,\"kv_transfer_params\":{\"do_remote_decode\":true}}");
            assertEquals(400, streamedPrefill.statusCode(), streamedPrefill.body());
            HttpResponse<String> twoPrompts = post(prefill.url(), "/v1/completions", "{\"prompt\":[\"x\",\"y\"],"
                    + "\"kv_transfer_params\":{\"do_remote_decode\":true}}");
            assertEquals(400, twoPrompts.statusCode(), twoPrompts.body());
            assertTrue(twoPrompts.body().contains("single prompt"), twoPrompts.body());
            assertEquals(0, metric(prefill.url(), "tessera_kv_transfer_pinned_blocks"));
            assertEquals(0, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));

            String longPrompt = "{\"prompt\":\"" + "Once upon a time, there was a big dog. ".repeat(24)
                    + "\",\"max_tokens\":12,\"temperature\":0}";
            String longAlone = essence(post(decode.url(), "/v1/completions", longPrompt).body());
            CompletableFuture<HttpResponse<String>> pending = CompletableFuture.supplyAsync(() -> {
                try {
                    return post(front, "/v1/completions", longPrompt);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            waitFor("the prefill instance started the prompt", () -> {
                try {
                    return metric(prefill.url(), "tessera_requests_running") > 0;
                } catch (Exception e) {
                    return false;
                }
            });
            prefill.kill();
            r = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(longAlone, essence(r.body()));
            assertEquals(1L, ((Map<?, ?>) router.status().get("disaggregation"))
                    .get("prefilled_locally_no_prefill_instance"));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
        }
    }

    @Test
    void aTransferTimeoutMeansALocalPrefillAndADecodeInstanceKilledWhilePullingAnError() throws Exception {
        int kvPort = ServeProcess.freePort();
        // the prefill instance waits 3 s before it sends a transfer's first block; the decode instance
        // waits 1 s for a transfer: it times out, or is killed meanwhile
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill", ENV, model("--kv-role", "prefill",
                "--kv-transfer-listen", "127.0.0.1:" + kvPort, "--kv-link-shaping", "1G,3000"));
                ServeProcess decode = ServeProcess.start(dir, "decode", ENV, model("--kv-role", "decode",
                        "--kv-peers", "127.0.0.1:" + kvPort, "--kv-transfer-timeout", "1"));
                Router router = Router.disaggregated(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), RouterConfig.defaults(), 0)) {
            InetSocketAddress a = router.start("127.0.0.1", 0);
            String front = "http://127.0.0.1:" + a.getPort();
            String body = "{\"prompt\":\"Once upon a time, in a big forest\",\"max_tokens\":16,\"temperature\":0}";
            String alone = essence(post(prefill.url(), "/v1/completions", body).body());

            HttpResponse<String> timedOut = post(front, "/v1/completions", body);
            assertEquals(200, timedOut.statusCode(), timedOut.body());
            assertEquals(alone, essence(timedOut.body()));
            assertEquals(1, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));
            assertEquals(1, metric(decode.url(), "tessera_kv_transfer_connector{counter=\"loads_timed_out\"}"));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
            waitFor("the prefill instance released the late transfer", noBlockTaken(prefill.url()));

            CompletableFuture<HttpResponse<String>> pending = CompletableFuture.supplyAsync(() -> {
                try {
                    return post(front, "/v1/completions", body.replace("forest", "town"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            waitFor("the decode instance started pulling", () -> {
                try {
                    return metric(decode.url(), "tessera_kv_transfer_loading_blocks") > 0;
                } catch (Exception e) {
                    return false;
                }
            });
            decode.kill();
            HttpResponse<String> r = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(503, r.statusCode(), r.body());
            assertTrue(JSON.readTree(r.body()).has("error"), r.body());
            waitFor("the prefill instance released the blocks of the transfer nobody took",
                    noBlockTaken(prefill.url()));
            assertEquals(0, metric(prefill.url(), "tessera_kv_transfer_pinned_blocks"));
        }
    }

    private BooleanSupplier metricAbove(String base, String query, double floor) {
        return () -> {
            try {
                return metric(base, query) > floor;
            } catch (Exception e) {
                return false;
            }
        };
    }

    private CompletableFuture<HttpResponse<String>> postLater(String base, String path, String body) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return post(base, path, body);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void pushModeGivesOneInstancesAnswer() throws Exception {
        int prefillKv = ServeProcess.freePort();
        int decodeKv = ServeProcess.freePort();
        // 8 tokens a step on the prefill instance: the prompt's blocks leave layer by layer as steps complete them
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill", ENV, model("--kv-role", "prefill",
                "--kv-transfer-listen", "127.0.0.1:" + prefillKv, "--kv-peers", "127.0.0.1:" + decodeKv,
                "--max-batched-tokens", "8", "--kv-link-shaping", "1G"));
                ServeProcess decode = ServeProcess.start(dir, "decode", ENV, model("--kv-role", "decode",
                        "--kv-transfer-listen", "127.0.0.1:" + decodeKv, "--kv-peers", "127.0.0.1:" + prefillKv));
                Router router = Router.disaggregatedPush(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), List.of("127.0.0.1:" + decodeKv), RouterConfig.defaults(), 0)) {
            InetSocketAddress a = router.start("127.0.0.1", 0);
            String front = "http://127.0.0.1:" + a.getPort();
            String completion = "{\"prompt\":\"Once upon a time, there was a little girl named Lily. She loved to\","
                    + "\"max_tokens\":24,\"temperature\":0,\"logprobs\":2}";
            String chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a dog and a cat\"}],"
                    + "\"max_tokens\":20,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
            HttpResponse<String> r = post(front, "/v1/completions", completion);
            HttpResponse<String> s = post(front, "/v1/chat/completions", chat);
            // one instance alone, asked afterwards (before, its prefix cache would hold the prompts, and the
            // disaggregated prefill would compute them in one chunk)
            String alone = essence(post(prefill.url(), "/v1/completions", completion).body());
            String aloneStream = streamed(post(prefill.url(), "/v1/chat/completions", chat).body());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(alone, essence(r.body()));
            assertEquals(200, s.statusCode(), s.body());
            assertEquals(aloneStream, streamed(s.body()));
            assertTrue(metric(decode.url(), "tessera_kv_transfer_loaded_tokens_total") > 10,
                    "the decode instance loaded the pushed KV");
            assertEquals(0, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));
            waitFor("both pushes done", metricAbove(prefill.url(), "tessera_kv_transfer_connector{counter=\"pushes_done\"}",
                    1.5));
            assertTrue(metric(prefill.url(), "tessera_kv_transfer_connector{counter=\"block_layers_ready_before_last_chunk\"}")
                    > 0, "layers were handed over before the prompts' last chunks");
            assertEquals(0, metric(prefill.url(), "tessera_kv_transfer_pinned_blocks"), "a push pins nothing");
            waitFor("the prefill instance holds no block", noBlockTaken(prefill.url()));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
            assertEquals("push", ((Map<?, ?>) router.status().get("disaggregation")).get("kv_transfer_mode"));
        }
    }

    @Test
    void pushModeFaultsAPrefillOrADecodeInstanceKilledMidPush() throws Exception {
        int prefillKv = ServeProcess.freePort();
        int decodeKv = ServeProcess.freePort();
        // 20 KB/s: a 240-token prompt's 150 KB of KV take seconds to push, time to kill either side meanwhile
        String longPrompt = "{\"prompt\":\"" + "Once upon a time, there was a big dog. ".repeat(24)
                + "\",\"max_tokens\":12,\"temperature\":0}";
        String[] prefillArgs = model("--kv-role", "prefill", "--kv-transfer-listen", "127.0.0.1:" + prefillKv,
                "--kv-peers", "127.0.0.1:" + decodeKv, "--kv-link-shaping", "20K");
        String received = "tessera_kv_transfer_connector{counter=\"bytes_received\"}";
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill", ENV, prefillArgs);
                ServeProcess decode = ServeProcess.start(dir, "decode", ENV, model("--kv-role", "decode",
                        "--kv-transfer-listen", "127.0.0.1:" + decodeKv));
                Router router = Router.disaggregatedPush(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), List.of("127.0.0.1:" + decodeKv), RouterConfig.defaults(), 0)) {
            InetSocketAddress a = router.start("127.0.0.1", 0);
            String front = "http://127.0.0.1:" + a.getPort();
            String longAlone = essence(post(decode.url(), "/v1/completions", longPrompt.replace("big", "small")).body());

            // the prefill instance dies while it pushes: the decode instance's load fails, it prefills itself
            CompletableFuture<HttpResponse<String>> pending = postLater(front, "/v1/completions",
                    longPrompt.replace("big", "small"));
            waitFor("the push started", metricAbove(decode.url(), received, 0));
            prefill.kill();
            HttpResponse<String> r = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(longAlone, essence(r.body()));
            assertEquals(1, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
        }
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill2", ENV, prefillArgs);
                ServeProcess decode = ServeProcess.start(dir, "decode2", ENV, model("--kv-role", "decode",
                        "--kv-transfer-listen", "127.0.0.1:" + decodeKv));
                Router router = Router.disaggregatedPush(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), List.of("127.0.0.1:" + decodeKv), RouterConfig.defaults(), 0)) {
            InetSocketAddress a = router.start("127.0.0.1", 0);
            String front = "http://127.0.0.1:" + a.getPort();
            // the decode instance dies while it receives: the client gets a clean error, the prefill instance
            // ends its push and holds no block
            CompletableFuture<HttpResponse<String>> pending = postLater(front, "/v1/completions", longPrompt);
            waitFor("the push started", metricAbove(decode.url(), received, 0));
            decode.kill();
            HttpResponse<String> r = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(503, r.statusCode(), r.body());
            assertTrue(JSON.readTree(r.body()).has("error"), r.body());
            waitFor("the prefill instance gave the push up", metricAbove(prefill.url(),
                    "tessera_kv_transfer_connector{counter=\"pushes_failed\"}", 0));
            waitFor("the prefill instance holds no block", noBlockTaken(prefill.url()));
            assertEquals(0, metric(prefill.url(), "tessera_kv_transfer_connector{counter=\"pushes_in_flight\"}"));
        }
    }

    /** The choices' text and finish reasons and the usage, without logprobs (TP 2 sums in another order). */
    private static String text(String body) throws Exception {
        JsonNode j = JSON.readTree(body);
        StringBuilder s = new StringBuilder();
        for (JsonNode c : j.get("choices")) {
            s.append(c.path("text").asText()).append('|').append(c.path("finish_reason").asText()).append('\n');
        }
        return s.append(j.get("usage").get("prompt_tokens")).append('/').append(j.get("usage").get("completion_tokens"))
                .toString();
    }

    @Test
    void aTp1PrefillInstanceFeedsATp2DecodeInstanceByPullAndByPush() throws Exception {
        int prefillKv = ServeProcess.freePort();
        int decodeKv = ServeProcess.freePort();
        try (ServeProcess prefill = ServeProcess.start(dir, "prefill", ENV, model("--kv-role", "prefill",
                "--kv-transfer-listen", "127.0.0.1:" + prefillKv, "--kv-peers", "127.0.0.1:" + decodeKv));
                // two worker processes; the decode instance cuts each loaded block layer into their KV heads
                ServeProcess decode = ServeProcess.start(dir, "decode", ENV, model("--kv-role", "decode", "--tp", "2",
                        "--kv-peers", "127.0.0.1:" + prefillKv, "--kv-transfer-listen", "127.0.0.1:" + decodeKv));
                Router pull = Router.disaggregated(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), RouterConfig.defaults(), 0);
                Router push = Router.disaggregatedPush(List.of(URI.create(prefill.url())), List.of(URI.create(
                        decode.url())), List.of("127.0.0.1:" + decodeKv), RouterConfig.defaults(), 0)) {
            String pullFront = "http://127.0.0.1:" + pull.start("127.0.0.1", 0).getPort();
            String pushFront = "http://127.0.0.1:" + push.start("127.0.0.1", 0).getPort();
            String pulled = "{\"prompt\":\"Once upon a time, there was a little girl named Lily. She loved to play\","
                    + "\"max_tokens\":24,\"temperature\":0}";
            String pushed = pulled.replace("Lily", "Tim").replace("play", "run");
            HttpResponse<String> r = post(pullFront, "/v1/completions", pulled);
            assertEquals(200, r.statusCode(), r.body());
            HttpResponse<String> p = post(pushFront, "/v1/completions", pushed);
            assertEquals(200, p.statusCode(), p.body());
            assertTrue(metric(decode.url(), "tessera_kv_transfer_loaded_tokens_total") > 20,
                    "the TP 2 decode instance loaded both prompts' KV");
            assertEquals(0, metric(decode.url(), "tessera_kv_transfer_load_failures_total"));
            // one instance alone, asked afterwards so that the disaggregated prefills computed everything
            assertEquals(text(post(prefill.url(), "/v1/completions", pulled).body()), text(r.body()));
            assertEquals(text(post(prefill.url(), "/v1/completions", pushed).body()), text(p.body()));
            waitFor("the prefill instance holds no block", noBlockTaken(prefill.url()));
            waitFor("the decode instance freed its blocks", noBlockTaken(decode.url()));
        }
    }
}
