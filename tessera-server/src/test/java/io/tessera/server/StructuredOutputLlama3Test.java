package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.hf.HfCheckpointWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tokenizer.NpmTokenizers;
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
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Structured output on a synthetic one-layer model with the real Llama 3 tokenizer (128,256
 * tokens, byte-level BPE with multi-character pieces such as {@code "},"} and {@code ":"}):
 * outputs validate against their schemas, sampled and greedy, with n > 1; a stop string still
 * ends a constrained sample.
 */
class StructuredOutputLlama3Test {

    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static LoadedModel loaded;
    static Parallel parallel;
    static Engine engine;
    static TesseraServer server;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        Path tokenizer = NpmTokenizers.llama3();
        ModelShape shape = ModelShape.named("tiny-gqa").withLayers(1).withVocabulary(128256);
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.BF16, 7);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(tokenizer.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        HfCheckpointWriter.writeGenerationConfig(dir, 128000, List.of(128001, 128009));
        loaded = LoadedModel.open(dir, null);
        parallel = new Parallel(1);
        LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 256);
        engine = new Engine(executor, EngineConfig.defaults(128001, 128009), Detokenizer.of(loaded.tokenizer()));
        server = new TesseraServer(engine, ServedModel.of("synthetic-llama3", loaded.tokenizer(),
                loaded.model().config().contextLength(), loaded.chatTemplate()), ServerConfig.defaults()).start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (parallel != null) {
            parallel.close();
        }
        if (loaded != null) {
            loaded.close();
        }
    }

    static JsonNode complete(ObjectNode body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void outputsValidate() throws Exception {
        List<String> schemas = List.of(
                """
                {"type":"object","properties":{"name":{"type":"string","maxLength":12},"ok":{"type":"boolean"},
                 "n":{"type":"integer"}},"required":["name","ok","n"],"additionalProperties":false}""",
                """
                {"type":"array","items":{"type":"object","properties":{"k":{"enum":["a","b"]},"v":{"type":"number"}},
                 "required":["k"]},"minItems":1,"maxItems":3}""",
                """
                {"anyOf":[{"type":"string","maxLength":6},{"type":"object","properties":{"when":{"type":"string",
                 "format":"date-time"}},"required":["when"]}]}""");
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        int validated = 0;
        for (String schema : schemas) {
            Schema validator = registry.getSchema(JSON.readTree(schema));
            for (int seed = 0; seed < 3; seed++) {
                ObjectNode body = JSON.createObjectNode().put("prompt", "Answer in JSON:").put("max_tokens", 120)
                        .put("n", 2).put("temperature", seed == 0 ? 0.0 : 1.0).put("seed", seed);
                body.set("guided_json", JSON.readTree(schema));
                for (JsonNode c : complete(body).get("choices")) {
                    String text = c.get("text").asText();
                    assertEquals("stop", c.get("finish_reason").asText(), text);
                    assertEquals(List.of(), validator.validate(JSON.readTree(text)), schema + " -> " + text);
                    validated++;
                }
            }
        }
        assertEquals(schemas.size() * 3 * 2, validated);
    }

    @Test
    void aStopStringEndsAConstrainedSample() throws Exception {
        ObjectNode body = JSON.createObjectNode().put("prompt", "JSON:").put("max_tokens", 60).put("temperature", 1.0)
                .put("seed", 4);
        body.putArray("stop").add("true").add("false");
        body.set("guided_json", JSON.readTree("""
                {"type":"object","properties":{"flag":{"type":"boolean"}},"required":["flag"]}"""));
        JsonNode c = complete(body).get("choices").get(0);
        assertEquals("stop", c.get("finish_reason").asText());
        String text = c.get("text").asText();
        assertTrue(text.equals("{\"flag\":") || text.equals("{\"flag\": "), text);
    }
}
