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
     * {@code serve --tp 2}: the same greedy text as one process; a worker killed → /health 503 naming it and
     * requests get a clean error; the worker back on its port → healthy again and the same text.
     */
    @Test
    void serveOverTwoWorkersDegradesAndRecovers() throws Exception {
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
        try (ServeCommand.Running r = cmd.start()) {
            String base = r.server().baseUrl();
            assertEquals(single, text(http, base, body));
            io.tessera.cluster.DistributedExecutor d = (io.tessera.cluster.DistributedExecutor) r.executor();
            Process worker = d.ownedWorkers().processes().get(0);
            String address = d.config().workers().get(0);
            worker.destroyForcibly().waitFor();
            long deadline = System.nanoTime() + 5_000_000_000L;
            java.net.http.HttpResponse<String> h;
            do {
                Thread.sleep(100);
                h = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/health")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
            } while (h.statusCode() == 200 && System.nanoTime() < deadline);
            assertEquals(503, h.statusCode());
            assertTrue(h.body().contains("cluster degraded"), h.body());
            java.net.http.HttpResponse<String> failed = post(http, base, body);
            assertTrue(failed.statusCode() >= 500 && failed.body().contains("cluster degraded"), failed.body());
            if (address != null) {
                // a worker started again at the lost worker's address: the coordinator re-plans and recovers
                ProcessBuilder pb = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString(), "-Xmx160m", "--add-modules", "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                        io.tessera.cluster.worker.WorkerMain.class.getName(), "--listen", address, "--parent-pid",
                        Long.toString(ProcessHandle.current().pid()))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
                pb.environment().put("TESSERA_CLUSTER_TOKEN", d.config().token());
                Process p = pb.start();
                try {
                    deadline = System.nanoTime() + 30_000_000_000L;
                    while (d.health() != null && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                    }
                    assertEquals(null, d.health());
                    assertEquals(single, text(http, base, body));
                } finally {
                    p.destroyForcibly();
                }
            }
        }
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
