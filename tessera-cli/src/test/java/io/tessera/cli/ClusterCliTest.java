package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster options as a user runs them: local workers started by the command, a cluster file, a bad layout. */
class ClusterCliTest {

    @TempDir
    Path dir;

    @Test
    void benchThroughputOverTwoLocalWorkers() {
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "4", "--input-len", "8", "--output-len", "8", "--kv-cache-memory", "8M", "--tp", "2",
                "--worker-heap", "160m", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"layout\":\"tp 2 x pp 1\""), r.out());
        assertTrue(r.out().contains("\"collective_bytes_per_token_theory\""), r.out());
    }

    /**
     * {@code serve --tp 2} starts its own workers: the same greedy text as one process; one of them killed
     * (SIGKILL) → /health 503 and requests 503, neither naming an internal address, the log naming the lost
     * worker; the server restarts the worker by itself → healthy again and the same text.
     */
    @Test
    void serveRestartsAKilledLocalWorkerAndAnswers503Meanwhile() throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}";
        String single;
        ServeCommand one = new ServeCommand();
        new picocli.CommandLine(one).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M");
        try (ServeCommand.Running r = one.start()) {
            single = text(http, r.server().baseUrl(), body);
        }
        ServeCommand cmd = new ServeCommand();
        new picocli.CommandLine(cmd).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--kv-cache-memory", "8M", "--tp", "2",
                "--worker-heap", "160m");
        java.io.PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                oldErr.write(b);
                log.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                oldErr.write(b, off, len);
                log.write(b, off, len);
            }
        }, true));
        try (ServeCommand.Running r = cmd.start()) {
            String base = r.server().baseUrl();
            assertEquals(single, text(http, base, body));
            io.tessera.cluster.DistributedExecutor d = (io.tessera.cluster.DistributedExecutor) r.executor();
            long pid = d.ownedWorkers().processes().get(0).pid();
            String address = d.config().workers().get(0);
            assertEquals(0, new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor());
            long deadline = System.nanoTime() + 5_000_000_000L;
            java.net.http.HttpResponse<String> h;
            do {
                Thread.sleep(50);
                h = get(http, base + "/health");
            } while (h.statusCode() == 200 && System.nanoTime() < deadline);
            assertEquals(503, h.statusCode());
            assertTrue(h.body().contains("cluster degraded") && h.body().contains("worker 0"), h.body());
            assertTrue(!h.body().contains("127.0.0.1"), h.body());
            java.net.http.HttpResponse<String> failed = post(http, base, body);
            assertEquals(503, failed.statusCode(), failed.body());
            assertTrue(failed.body().contains("temporarily unavailable") && !failed.body().contains("127.0.0.1"),
                    failed.body());
            // restarted by the server itself, on its former address, and re-planned
            deadline = System.nanoTime() + 60_000_000_000L;
            do {
                Thread.sleep(200);
                h = get(http, base + "/health");
            } while (h.statusCode() != 200 && System.nanoTime() < deadline);
            assertEquals(200, h.statusCode(), h.body());
            assertEquals(single, text(http, base, body));
            assertTrue(d.ownedWorkers().processes().get(0).pid() != pid);
            String logged = log.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(logged.contains("worker 0 (" + address + ") lost"), logged);
            assertTrue(logged.contains("local worker 0 restarted"), logged);
            assertTrue(logged.contains("cluster healthy again"), logged);
        } finally {
            System.setErr(oldErr);
        }
    }

    @Test
    void shortOrMisplacedClusterTokensAreRefused() throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, "short\n");
        CliTest.Result r = CliTest.tessera("worker", "--listen", "127.0.0.1:0", "--token-file", f.toString());
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("token file " + f) && r.err().contains("at least 16"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(), "--num-prompts", "1",
                "--kv-cache-memory", "8M", "--workers", "127.0.0.1:1", "--cluster-token", "short");
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("--cluster-token") && r.err().contains("at least 16"), r.err());
        r = CliTest.tessera("worker", "--listen", "127.0.0.1:0", "--token", "short");
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("--token") && r.err().contains("at least 16"), r.err());
    }

    private static java.net.http.HttpResponse<String> get(java.net.http.HttpClient http, String url) throws Exception {
        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    private static java.net.http.HttpResponse<String> post(java.net.http.HttpClient http, String base, String body)
            throws Exception {
        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/v1/completions"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    private static String text(java.net.http.HttpClient http, String base, String body) throws Exception {
        java.net.http.HttpResponse<String> r = post(http, base, body);
        assertEquals(200, r.statusCode(), r.body());
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).get("choices").get(0).get("text")
                .asText();
    }

    @Test
    void clusterFileWithAnImpossibleSplitIsAOneLineError() throws Exception {
        Path f = dir.resolve("cluster.json");
        Files.writeString(f, "{\"tp\": 3, \"pp\": 1}");
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "1", "--kv-cache-memory", "8M", "--cluster-file", f.toString());
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("tensor parallelism 3 does not divide the 8 attention heads"), r.err());
    }
}
