package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.LocalExecutor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A mixture-of-experts model served by one process reports its tokens per expert and layer in /metrics. */
class ExpertMetricsTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void metricsCountTokensPerExpertAndLayer() throws Exception {
        Path file = dir.resolve("tiny-moe.gguf");
        ModelShape shape = ModelShape.named("tiny-moe");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(512, 7), WeightTypes.parse("Q8_0"), 3);
        try (LoadedModel loaded = LoadedModel.open(file, null); Parallel parallel = new Parallel(1);
                LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 64);
                Engine engine = new Engine(executor, EngineConfig.defaults(loaded.tokenizer().eos()),
                        Detokenizer.of(loaded.tokenizer()))) {
            ServedModel served = ServedModel.of("tiny-moe", loaded.tokenizer(),
                    loaded.model().config().contextLength(), loaded.chatTemplate());
            TesseraServer server = new TesseraServer(engine, served, ServerConfig.defaults()).start();
            try {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl()
                        + "/v1/completions")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a b c d e f\",\"max_tokens\":6,"
                                + "\"temperature\":0,\"ignore_eos\":true}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                String m = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics")).GET().build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                int layers = loaded.model().config().layers();
                int experts = loaded.model().config().moe().experts();
                int k = loaded.model().config().moe().expertsUsed();
                long tokens = engine.stats().batchedTokens();
                assertTrue(tokens > 6, "tokens through the model: " + tokens);
                for (int l = 0; l < layers; l++) {
                    double sum = 0;
                    for (int e = 0; e < experts; e++) {
                        sum += value(m, l, e);
                    }
                    // every token that went through the model chose k experts in every layer
                    assertEquals((double) tokens * k, sum, 0, "layer " + l + " in\n" + m);
                }
            } finally {
                server.close();
            }
        }
    }

    private static double value(String metrics, int layer, int expert) {
        Matcher x = Pattern.compile("(?m)^tessera_expert_tokens_total\\{expert=\"" + expert + "\",layer=\"" + layer
                + "\",model_name=\"tiny-moe\"} (\\S+)$").matcher(metrics);
        assertTrue(x.find(), "layer " + layer + " expert " + expert + " in\n" + metrics);
        return Double.parseDouble(x.group(1));
    }
}
