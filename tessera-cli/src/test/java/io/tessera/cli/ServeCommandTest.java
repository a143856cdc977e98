package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
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
}
