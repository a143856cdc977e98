package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.model.GgufEdits;
import io.tessera.core.model.Stories260K;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tessera serve} built from its flags, answering on a free port, then shut down. */
class ServeCommandTest {

    @Test
    void servesFromFlags() throws Exception {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M",
                "--served-model-name", "tiny", "--api-key", "k", "--max-seqs", "8", "--max-queue", "4");
        HttpClient http = HttpClient.newHttpClient();
        try (ServeCommand.Running r = cmd.start()) {
            String base = r.server().baseUrl();
            HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models"))
                    .header("Authorization", "Bearer k").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, models.statusCode());
            assertTrue(models.body().contains("\"id\":\"tiny\""), models.body());
            HttpResponse<String> c = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("Authorization", "Bearer k").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":5}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, c.statusCode(), c.body());
            assertTrue(c.body().contains("\"completion_tokens\":5"), c.body());
        }
    }

    @Test
    void hardeningFlagsReachTheServer() throws Exception {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M",
                "--max-seqs", "2", "--max-queue", "2", "--max-prompts", "2", "--read-timeout", "0.5",
                "--allowed-origins", "http://app.example,http://other.example");
        HttpClient http = HttpClient.newHttpClient();
        try (ServeCommand.Running r = cmd.start()) {
            String base = r.server().baseUrl();
            HttpResponse<String> preflight = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://other.example")
                    .header("Access-Control-Request-Method", "POST").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(204, preflight.statusCode(), preflight.body());
            assertEquals("http://other.example",
                    preflight.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
            for (String body : List.of("{\"prompt\":[\"a\",\"b\",\"c\"],\"max_tokens\":1}",
                    "{\"prompt\":\"a\",\"n\":3,\"max_tokens\":1}",
                    "{\"prompt\":[\"a\",\"b\"],\"n\":2,\"max_tokens\":1}")) {
                HttpResponse<String> c = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(body.contains("\"n\":2") ? 200 : 400, c.statusCode(), body + " → " + c.body());
            }
            // a request that never finishes its headers is cut after half a second
            try (Socket s = new Socket("127.0.0.1", r.server().port())) {
                s.getOutputStream().write("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                        .getBytes(StandardCharsets.UTF_8));
                s.setSoTimeout(20_000);
                assertEquals(-1, s.getInputStream().read(), "closed by the server");
            }
        }
        ServeCommand bad = new ServeCommand();
        new CommandLine(bad).parseArgs("--model", TestModels.stories260K().toString(), "--read-timeout", "0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::start);
        assertTrue(e.getMessage().contains("--read-timeout"), e.getMessage());
    }

    /** The JIT is warmed with one short generation before the server says where it listens. */
    @Test
    void warmsUpBeforeSayingItIsReady() throws Exception {
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (ServeCommand.Running r = cmd.start()) {
            assertEquals(4, r.engine().stats().generatedTokens());
        } finally {
            System.setErr(oldErr);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        int warm = log.indexOf("tessera serve: warmed up (32 + 4 tokens) in ");
        int ready = log.indexOf("tessera serve: stories260K (context 512");
        assertTrue(warm >= 0 && ready > warm, log);
    }

    /**
     * Without --kv-cache-memory the cache holds --max-seqs full contexts (stories260K: 512 tokens
     * of 5 layers × 64 values × K and V in F16 = 640 B), not a quarter of the machine; a cache
     * below one context is said at start.
     */
    @Test
    void sizesTheKvCacheForTheSequencesItServes() throws Exception {
        String log = startLog("--max-seqs", "3");
        assertTrue(log.contains("tessera serve: KV cache 0.9 MiB f16, 1536 tokens (--max-seqs 3 × context 512)"),
                log);
        assertTrue(!log.contains("warning"), log);
        String small = startLog("--kv-cache-memory", "160K");
        assertTrue(small.contains("tessera serve: warning: the KV cache (0.2 MiB, --kv-cache-memory) holds 256 tokens,"
                + " less than one full context of 512"), small);
    }

    private static String startLog(String... flags) throws Exception {
        ServeCommand cmd = new ServeCommand();
        List<String> args = new java.util.ArrayList<>(List.of("--model", TestModels.stories260K().toString(),
                "--tokenizer", TestModels.tok512().toString(), "--port", "0", "--threads", "1"));
        args.addAll(List.of(flags));
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (ServeCommand.Running r = cmd.start()) {
            assertTrue(r.server().baseUrl().startsWith("http://127.0.0.1:"));
        } finally {
            System.setErr(oldErr);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    /** A model whose chat template fails an ordinary conversation gets a warning when it is loaded. */
    @Test
    void warnsAtLoadAboutARunawayChatTemplate(@TempDir Path dir) throws Exception {
        Path model = GgufEdits.rewrite(Stories260K.convert(dir, "F32"), dir.resolve("looping.gguf"),
                w -> w.putString("tokenizer.chat_template", "{% for a in range(1000) %}{% for b in range(1000) %}"
                        + "{% for c in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}"));
        ServeCommand cmd = new ServeCommand();
        new CommandLine(cmd).parseArgs("--model", model.toString(), "--port", "0", "--threads", "1",
                "--kv-cache-memory", "8M");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (ServeCommand.Running r = cmd.start()) {
            assertTrue(r.server().baseUrl().startsWith("http://127.0.0.1:"));
        } finally {
            System.setErr(oldErr);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("tessera serve: warning: the model's chat template fails on a four-message"
                + " conversation, so chat requests will get 400 (the chat template exceeded its rendering"
                + " limits"), log);
    }
    @Test
    void loggingFlags() {
        ServeCommand on = new ServeCommand();
        new CommandLine(on).parseArgs("--model", "m.gguf");
        assertEquals(io.tessera.server.RequestLogging.defaults(), on.logging());
        ServeCommand off = new ServeCommand();
        new CommandLine(off).parseArgs("--model", "m.gguf", "--no-access-log", "--log-stats-interval", "0");
        assertEquals(io.tessera.server.RequestLogging.off(), off.logging());
        ServeCommand bad = new ServeCommand();
        new CommandLine(bad).parseArgs("--model", "m.gguf", "--log-stats-interval", "-1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::logging);
        assertTrue(e.getMessage().contains("--log-stats-interval"), e.getMessage());
    }

    /** The embeddings' pooling: the GGUF file's pooling_type, overridden by --pooling; an unusable one is warned about. */
    @Test
    void poolingComesFromTheFileOrTheFlag(@TempDir Path dir) throws Exception {
        Path f32 = Stories260K.convert(dir, "F32");
        Path mean = GgufEdits.rewrite(f32, dir.resolve("mean.gguf"), w -> w.putUInt32("llama.pooling_type", 1));
        Path none = GgufEdits.rewrite(f32, dir.resolve("none.gguf"), w -> w.putUInt32("llama.pooling_type", 0));
        assertEquals("mean", startupLine(mean));
        assertEquals("last", startupLine(mean, "--pooling", "last"));
        assertEquals("last", startupLine(f32));
        assertEquals("last", startupLine(none));
        ServeCommand bad = new ServeCommand();
        new CommandLine(bad).parseArgs("--model", f32.toString(), "--pooling", "cls");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.pooling(f32));
        assertTrue(e.getMessage().contains("expected mean or last"), e.getMessage());
    }

    /** Starts serve on {@code model}, embeds one text, and returns the pooling its startup line names. */
    private static String startupLine(Path model, String... flags) throws Exception {
        ServeCommand cmd = new ServeCommand();
        List<String> args = new java.util.ArrayList<>(List.of("--model", model.toString(), "--port", "0", "--threads",
                "1", "--kv-cache-memory", "8M"));
        args.addAll(List.of(flags));
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (ServeCommand.Running r = cmd.start()) {
            HttpResponse<String> e = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    r.server().baseUrl() + "/v1/embeddings")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"a cat\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, e.statusCode(), e.body());
        } finally {
            System.setErr(oldErr);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        if (model.getFileName().toString().equals("none.gguf")) {
            assertTrue(log.contains("warning: llama.pooling_type: pooling_type 0 (none"), log);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("embeddings: (\\w+) pooling").matcher(log);
        assertTrue(m.find(), log);
        return m.group(1);
    }
}
