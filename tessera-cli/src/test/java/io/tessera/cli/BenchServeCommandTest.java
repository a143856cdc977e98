package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code tessera bench serve} against a real {@code tessera serve} on a free port. */
class BenchServeCommandTest {

    @TempDir
    Path dir;

    @Test
    void measuresAServer() throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M");
        try (ServeCommand.Running r = serve.start()) {
            Path json = dir.resolve("result.json");
            Path html = dir.resolve("plot.html");
            CliTest.Result res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(),
                    "--num-prompts", "6", "--max-concurrency", "3", "--input-len", "16", "--output-len", "8",
                    "--goodput", "ttft:60000", "--result-json", json.toString(), "--plot", html.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            assertTrue(res.out().contains("Successful requests:"), res.out());
            JsonNode j = new ObjectMapper().readTree(json.toFile());
            assertEquals(6, j.get("completed").asInt());
            assertEquals(0, j.get("failed").asInt());
            assertEquals(48, j.get("total_output_tokens").asInt());
            assertEquals(96, j.get("total_input_tokens").asInt());
            assertTrue(j.get("ttft").get("p99_ms").asDouble() > 0);
            assertTrue(j.get("request_goodput").asDouble() > 0);
            assertTrue(Files.readString(html).contains("<svg"));
            // chat endpoint, PNG picture
            Path png = dir.resolve("plot.png");
            res = CliTest.tessera("bench", "serve", "--base-url", r.server().baseUrl(), "--endpoint",
                    "/v1/chat/completions", "--num-prompts", "3", "--request-rate", "50", "--input-len", "8",
                    "--output-len", "4", "--plot", png.toString());
            assertEquals(0, res.code(), res.out() + res.err());
            assertTrue(Files.size(png) > 1000);
        }
        // an unreachable server: every request fails, exit code 1
        CliTest.Result down = CliTest.tessera("bench", "serve", "--base-url", "http://127.0.0.1:1", "--model", "x",
                "--num-prompts", "2", "--output-len", "2");
        assertEquals(1, down.code(), down.out() + down.err());
        assertTrue(down.out().contains("Failed requests:                                 2"), down.out());
    }
}
