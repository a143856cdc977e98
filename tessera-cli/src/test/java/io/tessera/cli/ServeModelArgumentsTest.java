package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Stories260K;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code tessera serve MODEL}, {@code -m MODEL} and {@code --model MODEL}; {@code --max-model-len}
 * capping the context; {@code --chat-template FILE} replacing the model's template.
 */
class ServeModelArgumentsTest {
    @TempDir
    static Path dir;
    static Path model;
    static int modelContext;

    @BeforeAll
    static void model() throws Exception {
        model = Stories260K.convert(dir, "F32");
        try (LoadedModel l = LoadedModel.open(model, null)) {
            modelContext = l.model().config().contextLength();
        }
    }

    private static ServeCommand parse(String... args) {
        ServeCommand cmd = new ServeCommand();
        String[] common = {"--port", "0", "--threads", "1", "--kv-cache-memory", "8M"};
        String[] all = new String[args.length + common.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(common, 0, all, args.length, common.length);
        new CommandLine(cmd).parseArgs(all);
        return cmd;
    }

    private static HttpResponse<String> post(String url, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theModelIsAPositionalArgumentOrAnOption() throws Exception {
        for (String[] args : new String[][] {{model.toString()}, {"-m", model.toString()},
            {"--model", model.toString()}, {model.toString(), "--model", model.toString()}}) {
            try (ServeCommand.Running r = parse(args).start()) {
                HttpResponse<String> models = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(r.server().baseUrl() + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, models.statusCode());
                String name = model.getFileName().toString().replace(".gguf", "");
                assertTrue(models.body().contains("\"id\":\"" + name + "\""), models.body());
            }
        }
    }

    @Test
    void conflictingOrMissingModelsAreOneLineErrors() throws Exception {
        Path other = Files.copy(model, dir.resolve("other.gguf"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse(model.toString(), "-m", other.toString()).start());
        assertTrue(e.getMessage().startsWith("the model is given twice with different values: MODEL '"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse().start());
        assertEquals("a model is required: give it as the first argument (MODEL) or with -m/--model PATH",
                e.getMessage());
    }

    @Test
    void maxModelLenCapsTheContext() throws Exception {
        int cap = 32;
        assertTrue(cap < modelContext);
        try (ServeCommand.Running r = parse(model.toString(), "--max-model-len", "" + cap).start()) {
            String url = r.server().baseUrl() + "/v1/completions";
            HttpResponse<String> ok = post(url, "{\"prompt\":[1, 2, 3],\"max_tokens\":" + (cap - 3) + "}");
            assertEquals(200, ok.statusCode(), ok.body());
            HttpResponse<String> over = post(url, "{\"prompt\":[1, 2, 3],\"max_tokens\":" + (cap - 2) + "}");
            assertEquals(400, over.statusCode(), over.body());
            assertTrue(over.body().contains("maximum context length is " + cap + " tokens"), over.body());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse(model.toString(), "--max-model-len", "" + (modelContext + 1)).start());
        assertEquals("--max-model-len " + (modelContext + 1) + " is more than the model's context length of "
                + modelContext + " tokens", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse(model.toString(), "--max-model-len", "0").start());
        assertTrue(e.getMessage().startsWith("--max-model-len must be a positive"), e.getMessage());
    }

    @Test
    void chatTemplateFileReplacesTheModelsTemplate() throws Exception {
        Path template = Files.writeString(dir.resolve("chat.jinja"),
                "{%- for m in messages %}<{{ m.role }}>{{ m.content | trim }}\n{% endfor -%}"
                        + "{% if add_generation_prompt %}<assistant>{% endif %}{{ flavour | default('') }}");
        try (ServeCommand.Running r = parse(model.toString(), "--chat-template", template.toString()).start()) {
            HttpResponse<String> t = post(r.server().baseUrl() + "/tokenize",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\" Hi \"}],\"chat_template_kwargs\":"
                            + "{\"flavour\":\"!\"}}");
            assertEquals(200, t.statusCode(), t.body());
            String ids = t.body().replaceAll(".*\"tokens\":\\[([^\\]]*)].*", "$1");
            HttpResponse<String> text = post(r.server().baseUrl() + "/detokenize", "{\"tokens\":[" + ids + "]}");
            assertTrue(text.body().contains("<user>Hi\\n<assistant>!"), text.body());
        }
        Path missing = dir.resolve("missing.jinja");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse(model.toString(), "--chat-template", missing.toString()).start());
        assertTrue(e.getMessage().startsWith("cannot read --chat-template " + missing), e.getMessage());
        Path invalid = Files.writeString(dir.resolve("invalid.jinja"), "{% for m in messages %}{{ m.content }}");
        e = assertThrows(IllegalArgumentException.class,
                () -> parse(model.toString(), "--chat-template", invalid.toString()).start());
        assertTrue(e.getMessage().startsWith("--chat-template " + invalid + " is not a valid template: syntax error"),
                e.getMessage());
        Path binary = Files.write(dir.resolve("binary.jinja"), new byte[] {(byte) 0xff, (byte) 0xfe, 0x41});
        e = assertThrows(IllegalArgumentException.class,
                () -> parse(model.toString(), "--chat-template", binary.toString()).start());
        assertEquals("--chat-template " + binary + " is not UTF-8 text", e.getMessage());
    }
}
