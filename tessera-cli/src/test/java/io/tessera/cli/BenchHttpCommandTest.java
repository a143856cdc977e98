package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code tessera bench http} against a real {@code tessera serve} that requires an API key. */
class BenchHttpCommandTest {

    @Test
    void sendsTheApiKey() throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--port", "0", "--threads", "1", "--kv-cache-memory", "8M",
                "--api-key", "bench-http-test-key");
        try (ServeCommand.Running r = serve.start()) {
            String url = r.server().baseUrl();
            CliTest.Result ok = CliTest.tessera("bench", "http", "--url", url, "--num-requests", "4",
                    "--concurrency", "2", "--max-tokens", "4", "--api-key", "bench-http-test-key", "--json");
            assertEquals(0, ok.code(), ok.out() + ok.err());
            JsonNode j = new ObjectMapper().readTree(ok.out());
            assertEquals(0, j.get("errors").asInt());
            assertTrue(j.get("completion_tokens_per_s").asDouble() > 0, ok.out());

            CliTest.Result wrong = CliTest.tessera("bench", "http", "--url", url, "--num-requests", "2",
                    "--concurrency", "1", "--max-tokens", "4", "--api-key", "not-the-key", "--json");
            assertEquals(1, wrong.code(), wrong.out() + wrong.err());
            assertEquals(2, new ObjectMapper().readTree(wrong.out()).get("errors").asInt());
        }
    }
}
