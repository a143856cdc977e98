package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.router.Router;
import io.tessera.router.RouterConfig;
import io.tessera.core.TestModels;
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
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code tessera router} from its flags, and in front of a real {@code tessera serve}. */
class RouterCommandTest {

    private static RouterCommand parse(String... args) {
        RouterCommand cmd = new RouterCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void flagsBecomeTheRoutersLimits() {
        RouterConfig c = parse("--replicas", "http://127.0.0.1:1").config();
        assertEquals(RouterConfig.defaults(), c);
        assertEquals(4L << 20, c.maxBodyBytes());
        c = parse("--replicas", "http://127.0.0.1:1", "--stall-timeout-s", "5", "--max-body-size", "1M",
                "--read-timeout-s", "2.5", "--idle-timeout-s", "7", "--request-timeout-s", "60").config();
        assertEquals(Duration.ofSeconds(5), c.stallTimeout());
        assertEquals(1L << 20, c.maxBodyBytes());
        assertEquals(Duration.ofMillis(2500), c.requestReadTimeout());
        assertEquals(Duration.ofSeconds(7), c.idleTimeout());
        assertEquals(Duration.ofSeconds(60), c.requestTimeout());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("--replicas", "http://127.0.0.1:1", "--stall-timeout-s", "1").config());
        assertTrue(e.getMessage().contains("stall timeout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> parse("--replicas", "http://127.0.0.1:1", "--read-timeout-s", "0").config());
        assertTrue(e.getMessage().contains("--read-timeout-s"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Router(List.of(URI.create("http://127.0.0.1:1/v1?x")), RouterConfig.defaults()));
        assertTrue(e.getMessage().contains("http://127.0.0.1:1/v1?x"), e.getMessage());
    }

    @Test
    void theDisaggregatedModeNeedsPrefillAndDecodeInstancesAndNotReplicas() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("--replicas", "http://127.0.0.1:1", "--prefill", "http://127.0.0.1:2").router());
        assertTrue(e.getMessage().contains("--replicas") && e.getMessage().contains("--prefill"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("--prefill", "http://127.0.0.1:2").router());
        assertTrue(e.getMessage().contains("--decode"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse().router());
        assertTrue(e.getMessage().contains("--replicas"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("--prefill", "http://127.0.0.1:2", "--decode",
                "http://127.0.0.1:3", "--local-prefill-below", "-1").router());
        assertTrue(e.getMessage().contains("--local-prefill-below"), e.getMessage());
        try (Router r = parse("--prefill", "http://127.0.0.1:2", "--decode", "http://127.0.0.1:3,http://127.0.0.1:4")
                .router()) {
            assertEquals(2, r.replicas().size());
            assertTrue(r.status().containsKey("disaggregation"), r.status().toString());
        }
    }

    @Test
    void replicaKvAddressesGoWithTheReplicasInTheDataParallelModeOnly() {
        try (Router r = parse("--replicas", "http://127.0.0.1:1,http://127.0.0.1:2", "--replica-kv",
                "127.0.0.1:7101,-").router()) {
            assertEquals("127.0.0.1:7101", r.replicas().get(0).kvAddress());
            assertEquals(null, r.replicas().get(1).kvAddress());
            assertEquals(0L, r.status().get("prefix_fetch_hints"));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("--replicas",
                "http://127.0.0.1:1,http://127.0.0.1:2", "--replica-kv", "127.0.0.1:7101").router());
        assertTrue(e.getMessage().contains("one KV address per replica"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("--prefill", "http://127.0.0.1:2", "--decode",
                "http://127.0.0.1:3", "--replica-kv", "127.0.0.1:7101").router());
        assertTrue(e.getMessage().contains("--replica-kv"), e.getMessage());
    }

    private static double aborted(HttpClient http, String base) throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("tessera_request_success_total\\{finished_reason=\"abort\"[^}]*} ([0-9.eE+]+)")
                .matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** A streaming client that leaves through the router stops its generation on the replica. */
    @Test
    void aClientLeavingAStreamAbortsItsGenerationOnTheReplica() throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "16M",
                "--max-seqs", "8", "--shutdown-grace", "1");
        HttpClient http = HttpClient.newHttpClient();
        try (ServeCommand.Running replica = serve.start();
                Router router = new Router(List.of(URI.create(replica.server().baseUrl())), 1000, 512,
                        Duration.ofSeconds(600))) {
            InetSocketAddress addr = router.start("127.0.0.1", 0);
            String base = replica.server().baseUrl();
            assertEquals(0, aborted(http, base));
            // 8 sequences of up to 480 tokens: seconds of work for one thread
            String body = "{\"prompt\":\"Once upon a time\",\"n\":8,\"max_tokens\":480,\"ignore_eos\":true,"
                    + "\"stream\":true}";
            try (Socket s = new Socket()) {
                s.connect(addr, 2000);
                s.setSoTimeout(20_000);
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: "
                        + "application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                        StandardCharsets.UTF_8));
                String line = in.readLine();
                assertTrue(line.startsWith("HTTP/1.1 200"), line);
                while (!line.startsWith("data: {")) {
                    line = in.readLine();
                }
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (aborted(http, base) < 1) {
                assertTrue(System.nanoTime() < deadline, "the replica did not abort the stream its client left");
                Thread.sleep(50);
            }
            assertEquals(0, router.replicas().get(0).outstandingTokens());
        }
    }
}
