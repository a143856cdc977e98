package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.model.GgufEdits;
import io.tessera.core.model.Stories260K;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
                    .header("Authorization", "Bearer k").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":5}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, c.statusCode(), c.body());
            assertTrue(c.body().contains("\"completion_tokens\":5"), c.body());
        }
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
}
