package io.tessera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera bench http}: a closed-loop load generator for an OpenAI-compatible endpoint (a
 * {@code tessera serve}, or a {@code tessera router} in front of several): {@code --concurrency}
 * clients each send their next request when the previous one is answered.
 */
@Command(name = "http", mixinStandardHelpOptions = true,
        description = "Closed-loop load on an OpenAI-compatible /v1/completions endpoint (serve or router): "
                + "requests/s, completion tokens/s, latency percentiles, errors.")
final class BenchHttpCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, paramLabel = "URL", description = "Base URL, e.g. http://127.0.0.1:8080.")
    URI url;

    @Option(names = "--num-requests", defaultValue = "64", paramLabel = "N", description = "Requests (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--concurrency", defaultValue = "8", paramLabel = "C", description = "Clients (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--max-tokens", defaultValue = "32", paramLabel = "N", description = "max_tokens (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "The request's model field (default: the first id of the server's /v1/models).")
    String modelName;

    @Option(names = "--json", description = "Print one JSON object on standard output.")
    boolean json;

    @Mixin
    ApiKeyOption apiKey = new ApiKeyOption();

    @Override
    public Integer call() throws Exception {
        ObjectMapper om = new ObjectMapper();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String key = apiKey.key();
        if (modelName == null) {
            modelName = "default";
            try {
                HttpResponse<String> m = http.send(authorized(HttpRequest.newBuilder(url.resolve("/v1/models")), key)
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                JsonNode data = om.readTree(m.body()).path("data");
                if (data.isArray() && !data.isEmpty()) {
                    modelName = data.get(0).path("id").asText("default");
                }
            } catch (java.io.IOException e) {
                // a server without /v1/models: send "default"
            }
        }
        long[] latency = new long[requests];
        int[] completion = new int[requests];
        boolean[] failed = new boolean[requests];
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        long start = System.nanoTime();
        try (ExecutorService pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                fs.add(pool.submit(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < requests) {
                        String body = om.writeValueAsString(Map.of("model", modelName, "prompt",
                                "Request " + i + ": once upon a time", "max_tokens", maxTokens, "temperature", 0));
                        long t0 = System.nanoTime();
                        try {
                            HttpResponse<String> r = http.send(authorized(
                                    HttpRequest.newBuilder(url.resolve("/v1/completions")), key)
                                    .timeout(Duration.ofMinutes(10)).header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            failed[i] = r.statusCode() != 200;
                            if (!failed[i]) {
                                JsonNode u = om.readTree(r.body()).path("usage");
                                completion[i] = u.path("completion_tokens").asInt(0);
                            }
                        } catch (java.io.IOException e) {
                            failed[i] = true;
                        }
                        latency[i] = System.nanoTime() - t0;
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        double secs = (System.nanoTime() - start) / 1e9;
        long[] sorted = latency.clone();
        Arrays.sort(sorted);
        int errors = 0;
        long tokens = 0;
        for (int i = 0; i < requests; i++) {
            errors += failed[i] ? 1 : 0;
            tokens += completion[i];
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("url", url.toString());
        o.put("requests", requests);
        o.put("concurrency", concurrency);
        o.put("errors", errors);
        o.put("elapsed_s", secs);
        o.put("requests_per_s", (requests - errors) / secs);
        o.put("completion_tokens_per_s", tokens / secs);
        o.put("latency_p50_ms", sorted[sorted.length / 2] / 1e6);
        o.put("latency_p99_ms", sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)] / 1e6);
        if (json) {
            System.out.println(om.writeValueAsString(o));
        } else {
            System.out.printf(Locale.ROOT, "%d requests (%d errors) in %.2f s: %.1f requests/s, %.1f completion tokens/s; "
                            + "latency p50 %.0f ms, p99 %.0f ms%n", requests, errors, secs, o.get("requests_per_s"),
                    o.get("completion_tokens_per_s"), o.get("latency_p50_ms"), o.get("latency_p99_ms"));
        }
        return errors == 0 ? 0 : 1;
    }

    private static HttpRequest.Builder authorized(HttpRequest.Builder rb, String key) {
        return key == null ? rb : rb.header("Authorization", "Bearer " + key);
    }
}
