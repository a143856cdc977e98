package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.spec.SpeculativeConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A server whose engine speculates with prompt lookup reports its proposals and acceptance in /metrics. */
class SpeculativeMetricsTest {

    @Test
    @Timeout(60)
    void metricsCountProposedAndAcceptedTokens() throws Exception {
        try (LoadedModel loaded = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
                Parallel parallel = new Parallel(1);
                LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 128);
                Engine engine = new Engine(executor, EngineConfig.defaults(loaded.tokenizer().eos())
                        .withSpeculative(SpeculativeConfig.ngram(4)), Detokenizer.of(loaded.tokenizer()))) {
            ServedModel served = ServedModel.of("stories260K", loaded.tokenizer(),
                    loaded.model().config().contextLength(), loaded.chatTemplate());
            TesseraServer server = new TesseraServer(engine, served, ServerConfig.defaults()).start();
            try {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
                String prompt = "Tom had a red ball. Tom had a red ball. Tom had a red ball. Tom had a";
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl()
                        + "/v1/completions")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt
                                + "\",\"max_tokens\":40,\"temperature\":0}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                String m = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics")).GET().build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                double drafts = value(m, "tessera_spec_decode_num_draft_tokens_total");
                double accepted = value(m, "tessera_spec_decode_num_accepted_tokens_total");
                assertTrue(drafts > 0 && accepted > 0 && accepted <= drafts, m);
                assertEquals(accepted / drafts, value(m, "tessera_spec_decode_acceptance_rate"), 1e-9);
                assertTrue(value(m, "tessera_spec_decode_num_drafts_total") > 0, m);
                assertTrue(value(m, "tessera_spec_decode_tokens_per_step") > 1, m);
                assertTrue(m.contains("tessera_spec_decode_num_accepted_tokens_per_pos_total"
                        + "{model_name=\"stories260K\",position=\"0\"}"), m);
                // vLLM's names for the same counters, for dashboards written for vLLM
                assertEquals(drafts, value(m, "vllm:spec_decode_num_draft_tokens_total"), 0);
                assertEquals(accepted, value(m, "vllm:spec_decode_num_accepted_tokens_total"), 0);
                assertEquals(value(m, "tessera_spec_decode_num_drafts_total"),
                        value(m, "vllm:spec_decode_num_drafts_total"), 0);
                assertTrue(m.contains("vllm:spec_decode_num_accepted_tokens_per_pos_total"
                        + "{model_name=\"stories260K\",position=\"0\"}"), m);
            } finally {
                server.close();
            }
        }
    }

    static double value(String metrics, String name) {
        Matcher x = Pattern.compile("(?m)^" + name + "\\{model_name=\"stories260K\"} (\\S+)$").matcher(metrics);
        assertTrue(x.find(), name + " in\n" + metrics);
        return Double.parseDouble(x.group(1));
    }
}
