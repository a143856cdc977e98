package io.tessera.server;

import io.tessera.engine.executor.ForwardingExecutor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.EmbeddingRequest;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.Pooling;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.LocalExecutor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/embeddings} with the official OpenAI Java SDK and over plain HTTP: the vectors are the
 * engine's pooled hidden states at unit length, in every input form and encoding; hostile inputs
 * get 400s naming the field.
 */
class EmbeddingsApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static TestServer ts;
    static OpenAIClient client;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults().withMaxPendingRequests(8).withMaxPrompts(6));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.url() + "/v1").apiKey("none").maxRetries(0).build();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (ts != null) {
            ts.close();
        }
    }

    /** The engine's LAST-pooled vector of these tokens, at unit length: what the API must return. */
    static float[] expected(int[] ids) throws Exception {
        float[] v = ts.engine.embed(new EmbeddingRequest(null, ids, Pooling.LAST)).get(30, TimeUnit.SECONDS).vector();
        return EmbeddingsHandler.unit(v);
    }

    static float[] floats(List<Float> list) {
        float[] v = new float[list.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = list.get(i);
        }
        return v;
    }

    static void assertVector(float[] want, List<Float> got) {
        // the same float, whether written as JSON numbers or base64
        assertTrue(Arrays.equals(want, floats(got)), "vector differs");
        double sq = 0;
        for (float x : got) {
            sq += x * x;
        }
        assertEquals(1.0, sq, 1e-5, "unit length");
    }

    @Test
    void sdkEmbedsAStringInEveryEncoding() throws Exception {
        String text = "Once upon a time there was a cat.";
        int[] ids = ts.loaded.tokenizer().encode(text, true, false);
        float[] want = expected(ids);
        assertEquals(ts.loaded.model().config().dim(), want.length);
        for (EmbeddingCreateParams.EncodingFormat f : new EmbeddingCreateParams.EncodingFormat[] {null,
                EmbeddingCreateParams.EncodingFormat.FLOAT, EmbeddingCreateParams.EncodingFormat.BASE64}) {
            EmbeddingCreateParams.Builder b = EmbeddingCreateParams.builder().model(TestServer.MODEL).input(text)
                    .user("someone").dimensions(want.length);
            if (f != null) {
                b.encodingFormat(f);
            }
            CreateEmbeddingResponse r = client.embeddings().create(b.build());
            assertEquals(1, r.data().size());
            assertEquals(0, r.data().get(0).index());
            assertVector(want, r.data().get(0).embedding());
            assertEquals(ids.length, r.usage().promptTokens());
            assertEquals(ids.length, r.usage().totalTokens());
            assertEquals(TestServer.MODEL, r.model());
        }
    }

    @Test
    void sdkEmbedsListsOfStringsAndOfTokens() throws Exception {
        List<String> texts = List.of("The dog ran.", "A big red ball", "Lily and Ben went to the park.");
        List<float[]> want = new ArrayList<>();
        List<List<Long>> tokenLists = new ArrayList<>();
        int total = 0;
        for (String t : texts) {
            int[] ids = ts.loaded.tokenizer().encode(t, true, false);
            want.add(expected(ids));
            tokenLists.add(Arrays.stream(ids).mapToObj(i -> (long) i).toList());
            total += ids.length;
        }
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(TestServer.MODEL)
                .input(EmbeddingCreateParams.Input.ofArrayOfStrings(texts)).build());
        assertEquals(3, r.data().size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, r.data().get(i).index());
            assertVector(want.get(i), r.data().get(i).embedding());
        }
        assertEquals(total, r.usage().promptTokens());
        CreateEmbeddingResponse byTokens = client.embeddings().create(EmbeddingCreateParams.builder()
                .model(TestServer.MODEL).input(EmbeddingCreateParams.Input.ofArrayOfTokenArrays(tokenLists)).build());
        for (int i = 0; i < 3; i++) {
            assertVector(want.get(i), byTokens.data().get(i).embedding());
        }
        CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder()
                .model(TestServer.MODEL).input(EmbeddingCreateParams.Input.ofArrayOfTokens(tokenLists.get(1)))
                .build());
        assertEquals(1, one.data().size());
        assertVector(want.get(1), one.data().get(0).embedding());
    }

    @Test
    void sdkGetsA400ForAnotherDimension() {
        BadRequestException e = assertThrows(BadRequestException.class, () -> client.embeddings().create(
                EmbeddingCreateParams.builder().model(TestServer.MODEL).input("x").dimensions(32).build()));
        assertTrue(e.getMessage().contains("dimensions"), e.getMessage());
    }

    static HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/embeddings"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A 400 whose error names {@code param}. */
    static void assertRefused(String body, String param) throws Exception {
        HttpResponse<String> r = post(body);
        assertEquals(400, r.statusCode(), body + " -> " + r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals(param, e.get("param").asText(), body + " -> " + r.body());
        assertTrue(e.get("message").asText().length() > 10, r.body());
    }

    @Test
    void hostileInputsGet400sNamingTheField() throws Exception {
        int ctx = ts.loaded.model().config().contextLength();
        String[] inputs = {
            "\"\"", "[]", "[\"\"]", "[\"a\", \"\"]", "[[]]", "[[1, 2], []]", "[1, 512]", "[1, -1]",
            "[1, 4294967296]", "[1.5]", "[1, 2.5]", "[{\"a\": 1}]", "[\"a\", 1]", "[1, \"a\"]", "[[1, 2], [3, \"x\"]]",
            "[[[1]]]", "[[1], 2]", "[null]", "[true]", "42", "true", "{}", "null",
            "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]", // over --max-prompts 6
            "[" + "1,".repeat(ctx) + "1]", // one token past the context
            "[[" + "1,".repeat(ctx) + "1]]",
            "[" + "1,".repeat(100_000) + "1]",
            "\"" + "a".repeat(ctx * 40) + "\"", // more characters than any text within the context
        };
        for (String input : inputs) {
            assertRefused("{\"model\":\"stories260K\",\"input\":" + input + "}", "input");
        }
        assertRefused("{\"model\":\"stories260K\"}", "input");
        assertRefused("{\"input\":\"x\",\"encoding_format\":\"int8\"}", "encoding_format");
        assertRefused("{\"input\":\"x\",\"encoding_format\":5}", "encoding_format");
        assertRefused("{\"input\":\"x\",\"dimensions\":\"64\"}", "dimensions");
        assertRefused("{\"input\":\"x\",\"dimensions\":0}", "dimensions");
        assertRefused("{\"input\":\"x\",\"truncate_prompt_tokens\":4}", "truncate_prompt_tokens");
        assertRefused("{\"input\":\"x\",\"temperature\":0}", "temperature");
        assertRefused("{\"input\":\"x\",\"bogus\":1}", "bogus");
        // the engine still serves, and nothing is left pending
        assertEquals(200, post("{\"input\":\"the end\",\"user\":\"u\",\"encoding_format\":null}").statusCode());
        assertEquals(0, ts.server.pendingRequests());
        ts.engine.checkBlocks();
    }

    @Test
    void moreInputsThanTheServerAdmitsAre400() throws Exception {
        try (TestServer small = new TestServer(ServerConfig.defaults().withMaxPendingRequests(2))) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(small.url() + "/v1/embeddings"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"input\":[\"a\",\"b\",\"c\"]}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(400, r.statusCode(), r.body());
            assertTrue(r.body().contains("at most 2"), r.body());
        }
    }

    @Test
    void anExecutorWithoutHiddenStatesAnswers501() throws Exception {
        try (LoadedModel loaded = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
             Parallel parallel = new Parallel(1);
             LocalExecutor local = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 64);
             Engine engine = new Engine(new LogitsOnly(local), EngineConfig.defaults(loaded.tokenizer().eos()),
                     Detokenizer.of(loaded.tokenizer()));
             TesseraServer server = new TesseraServer(engine, ServedModel.of(TestServer.MODEL, loaded.tokenizer(),
                     512, null), ServerConfig.defaults()).start()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/embeddings"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"input\":\"a cat\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(501, r.statusCode(), r.body());
            assertTrue(r.body().contains("--tp/--pp"), r.body());
        }
    }

    /** Logits only, as the distributed executor. */
    private static final class LogitsOnly extends ForwardingExecutor {
        LogitsOnly(Executor inner) {
            super(inner);
        }

        @Override
        public boolean returnsHiddenStates() {
            return false;
        }

        @Override
        public String describe() {
            return "logits only";
        }
    }
}
