package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.models.Model;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code GET /version} and the model object of {@code /v1/models}. */
class VersionAndModelsTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void versionAndModelCard() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults().withApiKey("k"))) {
            HttpClient http = HttpClient.newHttpClient();
            // like /health, /version needs no key (vLLM's does not either)
            HttpResponse<String> v = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/version")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, v.statusCode(), v.body());
            JsonNode version = JSON.readTree(v.body());
            assertEquals(BuildInfo.current().version(), version.get("version").asText());
            assertTrue(version.get("version").asText().matches("\\d+\\.\\d+\\.\\d+.*"), v.body());
            assertEquals(BuildInfo.current().commit(), version.get("commit").asText());
            assertTrue(BuildInfo.current().line().startsWith("tessera " + version.get("version").asText()));

            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/models"))
                    .header("Authorization", "Bearer k").build(), HttpResponse.BodyHandlers.ofString());
            JsonNode card = JSON.readTree(r.body()).get("data").get(0);
            assertEquals(TestServer.MODEL, card.get("id").asText());
            assertEquals("model", card.get("object").asText());
            assertEquals(512, card.get("max_model_len").asInt());
            List<String> caps = new ArrayList<>();
            card.get("capabilities").forEach(c -> caps.add(c.asText()));
            // stories260K has no chat template: the fallback takes no tools
            assertEquals(List.of("completion", "chat", "embeddings"), caps);
            assertEquals(512, card.get("meta").get("n_vocab").asInt());
            assertEquals(64, card.get("meta").get("n_embd").asInt());
            assertEquals("last", card.get("meta").get("pooling").asText());
            HttpResponse<String> one = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/models/"
                    + TestServer.MODEL)).header("Authorization", "Bearer k").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(card, JSON.readTree(one.body()));

            // the OpenAI SDK still reads it as its model object
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(ts.url() + "/v1").apiKey("k").maxRetries(0)
                    .build();
            try {
                Model m = client.models().retrieve(TestServer.MODEL);
                assertEquals(TestServer.MODEL, m.id());
                assertEquals("tessera", m.ownedBy());
                assertFalse(m._additionalProperties().isEmpty());
            } finally {
                client.close();
            }
        }
    }
}
