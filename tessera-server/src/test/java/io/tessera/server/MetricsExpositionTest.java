package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} scraped and parsed as Prometheus' text format: the {@code model_name} label on
 * the request, token and engine metrics, and the vLLM names with the types and values of the
 * Tessera metrics they alias.
 */
class MetricsExpositionTest {

    /** One sample line: name, labels in braces, value (the text format's grammar, without timestamps). */
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*)})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** The exposition parsed: metric family types, and sample values by name and sorted labels. */
    record Exposition(Map<String, String> types, Map<String, Double> samples) {
        double value(String name, String labels) {
            Double v = samples.get(name + "{" + labels + "}");
            assertNotNull(v, "no sample " + name + "{" + labels + "} in " + samples.keySet());
            return v;
        }
    }

    static Exposition parse(String text) {
        Map<String, String> types = new HashMap<>();
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.substring(7).split(" ");
                assertEquals(2, p.length, line);
                assertTrue(types.putIfAbsent(p[0], p[1]) == null, "a family declared twice: " + line);
                continue;
            }
            if (line.startsWith("#")) {
                assertTrue(line.startsWith("# HELP "), line);
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a sample line: " + line);
            Map<String, String> labels = new java.util.TreeMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            StringBuilder key = new StringBuilder(m.group(1)).append('{');
            labels.forEach((k, v) -> key.append(k).append("=\"").append(v).append("\","));
            if (!labels.isEmpty()) {
                key.setLength(key.length() - 1);
            }
            double v = Double.parseDouble(m.group(4));
            assertTrue(samples.put(key.append('}').toString(), v) == null, "a sample twice: " + line);
        }
        return new Exposition(types, samples);
    }

    static Exposition scrape(HttpClient http, TestServer ts) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        return parse(r.body());
    }

    @Test
    void modelNameLabelsAndVllmNames() throws Exception {
        try (TestServer ts = new TestServer(ServerConfig.defaults(), RequestLogging.off())) {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> c = http.send(HttpRequest.newBuilder(URI.create(ts.url() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Once upon a time\",\"max_tokens\":7,\"ignore_eos\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, c.statusCode(), c.body());
            int prompt = ServerApiTest.JSON.readTree(c.body()).get("usage").get("prompt_tokens").asInt();
            Exposition e = scrape(http, ts);
            String model = "model_name=\"" + TestServer.MODEL + "\"";

            // vLLM's names, their types, and the request's numbers under both names
            Map<String, String> types = Map.ofEntries(Map.entry("vllm:num_requests_running", "gauge"),
                    Map.entry("vllm:num_requests_waiting", "gauge"), Map.entry("vllm:kv_cache_usage_perc", "gauge"),
                    Map.entry("vllm:gpu_cache_usage_perc", "gauge"), Map.entry("vllm:prompt_tokens", "counter"),
                    Map.entry("vllm:generation_tokens", "counter"), Map.entry("vllm:request_success", "counter"),
                    Map.entry("vllm:num_preemptions", "counter"), Map.entry("vllm:prefix_cache_queries", "counter"),
                    Map.entry("vllm:prefix_cache_hits", "counter"),
                    Map.entry("vllm:time_to_first_token_seconds", "histogram"),
                    Map.entry("vllm:inter_token_latency_seconds", "histogram"),
                    Map.entry("vllm:time_per_output_token_seconds", "histogram"),
                    Map.entry("vllm:e2e_request_latency_seconds", "histogram"));
            // the text format names a counter's family with its _total suffix
            types.forEach((name, type) -> assertEquals(type, e.types().get(type.equals("counter") ? name + "_total"
                    : name), name));
            assertEquals(prompt, e.value("vllm:prompt_tokens_total", model));
            assertEquals(7, e.value("vllm:generation_tokens_total", model));
            assertEquals(1, e.value("vllm:request_success_total", "finished_reason=\"length\"," + model));
            assertEquals(1, e.value("vllm:time_to_first_token_seconds_count", model));
            assertEquals(6, e.value("vllm:inter_token_latency_seconds_count", model));
            assertEquals(6, e.value("vllm:time_per_output_token_seconds_count", model));
            assertEquals(1, e.value("vllm:e2e_request_latency_seconds_count", model));
            assertEquals(1, e.value("vllm:e2e_request_latency_seconds_bucket", "le=\"+Inf\"," + model));
            assertEquals(0, e.value("vllm:num_requests_running", model));
            assertEquals(0, e.value("vllm:kv_cache_usage_perc", model));
            // each alias equals the Tessera metric it copies
            for (Map.Entry<String, List<String>> a : VllmMetricNames.ALIASES.entrySet()) {
                String ours = a.getKey();
                for (String theirs : a.getValue()) {
                    String total = e.types().containsKey(ours + "_total") ? "_total" : "";
                    if (ours.endsWith("_per_pos") && e.types().get(ours + total) == null) {
                        // a family labelled by draft position has no series before anything was drafted
                        assertNull(e.types().get(theirs + "_total"), theirs);
                        continue;
                    }
                    assertNotNull(e.types().get(ours + total), ours);
                    assertEquals(e.types().get(ours + total), e.types().get(theirs + total), theirs);
                    int n = 0;
                    for (Map.Entry<String, Double> s : e.samples().entrySet()) {
                        if (s.getKey().startsWith(ours + "_") || s.getKey().startsWith(ours + "{")) {
                            String alias = theirs + s.getKey().substring(ours.length());
                            assertEquals(s.getValue(), e.samples().get(alias), alias);
                            assertTrue(s.getKey().contains(model), s.getKey() + " has the model_name label");
                            n++;
                        }
                    }
                    assertTrue(n > 0, "samples of " + ours);
                }
            }
            // the label on Tessera's own request, token and engine metrics
            assertEquals(7, e.value("tessera_generation_tokens_total", model));
            assertTrue(e.value("tessera_engine_steps_total", model) >= 7);
        }
    }
}
