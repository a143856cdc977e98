package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.output.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * langchain4j's OpenAI embedding client ({@link OpenAiEmbeddingModel}) against {@code /v1/embeddings}:
 * a text and a list of segments embed to vectors of the model's dimension, equal to the ones the
 * server answers over plain HTTP for the same input, with the same token usage.
 */
class LangChain4jEmbeddingModelTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static TestServer ts;
    static EmbeddingModel model;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults());
        model = OpenAiEmbeddingModel.builder().baseUrl(ts.url() + "/v1").apiKey("none").modelName(TestServer.MODEL)
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        if (ts != null) {
            ts.close();
        }
    }

    /** The server's own answer for {@code input}, over plain HTTP. */
    static JsonNode overHttp(Object input) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(ts.url() + "/v1/embeddings")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        JSON.writeValueAsString(Map.of("model", TestServer.MODEL, "input", input))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static float[] vector(JsonNode datum) {
        JsonNode e = datum.get("embedding");
        float[] v = new float[e.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) e.get(i).asDouble();
        }
        return v;
    }

    @Test
    void aTextEmbedsToTheServersVector() throws Exception {
        String text = "Once upon a time there was a cat.";
        Response<Embedding> got = model.embed(text);
        JsonNode want = overHttp(text);
        assertEquals(ts.loaded.model().config().dim(), got.content().dimension());
        assertEquals(model.dimension(), got.content().dimension());
        assertArrayEquals(vector(want.get("data").get(0)), got.content().vector());
        assertEquals(want.get("usage").get("prompt_tokens").asInt(), got.tokenUsage().inputTokenCount());
    }

    @Test
    void segmentsEmbedInOrderToTheServersVectors() throws Exception {
        List<String> texts = List.of("The dog ran.", "A big red ball", "Lily and Ben went to the park.");
        Response<List<Embedding>> got = model.embedAll(texts.stream().map(TextSegment::from).toList());
        JsonNode want = overHttp(texts);
        assertEquals(texts.size(), got.content().size());
        for (int i = 0; i < texts.size(); i++) {
            assertEquals(ts.loaded.model().config().dim(), got.content().get(i).dimension());
            assertArrayEquals(vector(want.get("data").get(i)), got.content().get(i).vector(), texts.get(i));
        }
        assertEquals(want.get("usage").get("prompt_tokens").asInt(), got.tokenUsage().inputTokenCount());
    }
}
