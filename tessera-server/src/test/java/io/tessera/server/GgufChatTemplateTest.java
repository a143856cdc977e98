package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.GgufEdits;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.LocalExecutor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A GGUF file's own tokenizer.chat_template is read from its metadata and renders chat prompts. */
class GgufChatTemplateTest {

    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] | trim }}\n"
            + "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";

    @TempDir
    Path dir;

    /** stories260K as GGUF with the given tokenizer.chat_template. */
    private Path withTemplate(String template) throws Exception {
        Path plain = dir.resolve("stories.gguf");
        if (!Files.exists(plain)) {
            try (LoadedModel l = LoadedModel.open(TestModels.stories260K(), TestModels.tok512())) {
                GgufModelWriter.write(plain, "stories260K", l.model().config(), l.model().tiedOutput(),
                        ((SentencePieceBpeTokenizer) l.tokenizer()).vocabulary(), WeightTypes.parse("F32"),
                        GgufModelWriter.of(l.model()));
            }
        }
        return GgufEdits.rewrite(plain, Files.createTempFile(dir, "stories-chat", ".gguf"),
                w -> w.putString("tokenizer.chat_template", template));
    }

    @Test
    void templateFromMetadata() throws Exception {
        Path templated = withTemplate(TEMPLATE);
        try (LoadedModel loaded = LoadedModel.open(templated, null); Parallel parallel = new Parallel(1);
                LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 128)) {
            assertEquals(TEMPLATE, loaded.chatTemplate());
            Engine engine = new Engine(executor, EngineConfig.defaults(loaded.tokenizer().eos()),
                    Detokenizer.of(loaded.tokenizer()));
            ServedModel served = ServedModel.of("chat", loaded.tokenizer(), 512, loaded.chatTemplate());
            assertFalse(served.chatTemplate().isFallback());
            try (TesseraServer server = new TesseraServer(engine, served, ServerConfig.defaults()).start()) {
                HttpClient http = HttpClient.newHttpClient();
                String messages = "{\"messages\":[{\"role\":\"user\",\"content\":\" Hi \"}]";
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/tokenize"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(messages + "}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                JsonNode tokens = new ObjectMapper().readTree(r.body()).get("tokens");
                int[] ids = new int[tokens.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = tokens.get(i).asInt();
                }
                // "<s>" written by the template is the BOS token, then the rendered text
                assertEquals(loaded.tokenizer().bos(), ids[0]);
                assertArrayEquals(loaded.tokenizer().encode("<s>[user] Hi\n[assistant]", false, true), ids);
                HttpResponse<String> c = http.send(HttpRequest.newBuilder(
                        URI.create(server.baseUrl() + "/v1/chat/completions")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers
                        .ofString(messages + ",\"max_tokens\":5}")).build(), HttpResponse.BodyHandlers.ofString());
                JsonNode j = new ObjectMapper().readTree(c.body());
                assertEquals(ids.length, j.get("usage").get("prompt_tokens").asInt(), c.body());
                assertTrue(j.get("usage").get("completion_tokens").asInt() > 0);
            } finally {
                engine.close();
            }
        }
    }

    /**
     * A model whose template loops 10^9 times: the load-time probe warns, each chat request is a 400
     * with an OpenAI error object, and the server goes on serving (completions, further chats).
     */
    @Test
    void aRunawayTemplateCostsEachChatRequestA400AndNothingElse() throws Exception {
        Path templated = withTemplate(ChatTemplateTest.BILLION_LOOPS);
        try (LoadedModel loaded = LoadedModel.open(templated, null); Parallel parallel = new Parallel(1);
                LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 128)) {
            Engine engine = new Engine(executor, EngineConfig.defaults(loaded.tokenizer().eos()),
                    Detokenizer.of(loaded.tokenizer()));
            ServedModel served = ServedModel.of("chat", loaded.tokenizer(), 512, loaded.chatTemplate());
            assertTrue(served.chatTemplate().probe().isPresent());
            try (TesseraServer server = new TesseraServer(engine, served, ServerConfig.defaults()).start()) {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
                for (int i = 0; i < 3; i++) {
                    HttpResponse<String> c = post(http, server.baseUrl() + "/v1/chat/completions",
                            "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3}");
                    assertEquals(400, c.statusCode(), c.body());
                    JsonNode error = new ObjectMapper().readTree(c.body()).get("error");
                    assertEquals("invalid_request_error", error.get("type").asText(), c.body());
                    assertEquals("messages", error.get("param").asText(), c.body());
                    assertTrue(error.get("message").asText().startsWith("the chat template exceeded its rendering"
                            + " limits: "), c.body());
                }
                HttpResponse<String> ok = post(http, server.baseUrl() + "/v1/completions",
                        "{\"prompt\":\"Once upon a time\",\"max_tokens\":3}");
                assertEquals(200, ok.statusCode(), ok.body());
            } finally {
                engine.close();
            }
        }
    }

    private static HttpResponse<String> post(HttpClient http, String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
