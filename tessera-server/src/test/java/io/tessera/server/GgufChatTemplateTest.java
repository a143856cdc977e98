package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufTensorInfo;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.Parallel;
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
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A GGUF file's own tokenizer.chat_template is read from its metadata and renders chat prompts. */
class GgufChatTemplateTest {

    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] | trim }}\n"
            + "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";

    @TempDir
    Path dir;

    @Test
    void templateFromMetadata() throws Exception {
        Path plain = dir.resolve("stories.gguf");
        Path templated = dir.resolve("stories-chat.gguf");
        try (LoadedModel l = LoadedModel.open(TestModels.stories260K(), TestModels.tok512())) {
            GgufModelWriter.write(plain, "stories260K", l.model().config(), l.model().tiedOutput(),
                    ((SentencePieceBpeTokenizer) l.tokenizer()).vocabulary(), WeightTypes.parse("F32"),
                    GgufModelWriter.of(l.model()));
        }
        try (GgufFile g = GgufFile.open(plain)) {
            GgufWriter w = new GgufWriter().putAll(g.metadata()).putString("tokenizer.chat_template", TEMPLATE);
            for (GgufTensorInfo t : g.tensorInfos()) {
                w.addRawTensor(t.name(), t.type(), t.dims(),
                        g.segment().asSlice(g.dataOffset() + t.offset(), t.byteSize()));
            }
            w.write(templated);
        }
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
}
