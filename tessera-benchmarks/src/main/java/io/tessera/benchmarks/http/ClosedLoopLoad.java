package io.tessera.benchmarks.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.benchmarks.Percentiles;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code tessera bench http}: a closed-loop load on an OpenAI-compatible {@code /v1/completions}
 * endpoint (a {@code tessera serve}, or a {@code tessera router} in front of several):
 * {@code concurrency} clients each send their next request when the previous one is answered.
 *
 * @param modelName the request's model field; null for the first id of {@code /v1/models}
 * @param apiKey the bearer key; null for none
 */
public record ClosedLoopLoad(URI url, String modelName, String apiKey, int requests, int concurrency, int maxTokens) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ClosedLoopLoad {
        if (requests < 1 || concurrency < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("--num-requests, --concurrency and --max-tokens must be at least 1");
        }
    }

    /** Runs the load; the result as its JSON names it. */
    public Map<String, Object> run() throws InterruptedException, ExecutionException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String model = modelName != null ? modelName : firstModel(http);
        long[] latency = new long[requests];
        int[] completion = new int[requests];
        boolean[] failed = new boolean[requests];
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> clients = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                clients.add(pool.submit(() -> {
                    for (int i; (i = next.getAndIncrement()) < requests; ) {
                        long t0 = System.nanoTime();
                        completion[i] = send(http, model, i);
                        failed[i] = completion[i] < 0;
                        latency[i] = System.nanoTime() - t0;
                    }
                    return null;
                }));
            }
            for (Future<?> f : clients) {
                f.get();
            }
        }
        double secs = (System.nanoTime() - start) / 1e9;
        double[] sorted = Percentiles.sorted(latency);
        int errors = 0;
        long tokens = 0;
        for (int i = 0; i < requests; i++) {
            errors += failed[i] ? 1 : 0;
            tokens += Math.max(0, completion[i]);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("url", url.toString());
        o.put("requests", requests);
        o.put("concurrency", concurrency);
        o.put("errors", errors);
        o.put("elapsed_s", secs);
        o.put("requests_per_s", (requests - errors) / secs);
        o.put("completion_tokens_per_s", tokens / secs);
        o.put("latency_p50_ms", Percentiles.of(sorted, 50) / 1e6);
        o.put("latency_p99_ms", Percentiles.of(sorted, 99) / 1e6);
        return o;
    }

    /** The one-line report of a result. */
    public static void print(PrintStream out, Map<String, Object> o) {
        out.printf(Locale.ROOT, "%d requests (%d errors) in %.2f s: %.1f requests/s, %.1f completion tokens/s; "
                        + "latency p50 %.0f ms, p99 %.0f ms%n", o.get("requests"), o.get("errors"), o.get("elapsed_s"),
                o.get("requests_per_s"), o.get("completion_tokens_per_s"), o.get("latency_p50_ms"),
                o.get("latency_p99_ms"));
    }

    /** Completion tokens of request {@code i}, or -1 when it failed. */
    private int send(HttpClient http, String model, int i) throws IOException, InterruptedException {
        String body = JSON.writeValueAsString(Map.of("model", model, "prompt", "Request " + i + ": once upon a time",
                "max_tokens", maxTokens, "temperature", 0));
        try {
            HttpResponse<String> r = http.send(authorized(HttpRequest.newBuilder(url.resolve("/v1/completions")))
                    .timeout(Duration.ofMinutes(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() != 200 ? -1 : JSON.readTree(r.body()).path("usage").path("completion_tokens").asInt(0);
        } catch (IOException e) {
            return -1;
        }
    }

    /** The first model id of the server's list; "default" for a server without /v1/models. */
    private String firstModel(HttpClient http) throws InterruptedException {
        try {
            HttpResponse<String> m = http.send(authorized(HttpRequest.newBuilder(url.resolve("/v1/models")))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode data = JSON.readTree(m.body()).path("data");
            if (data.isArray() && !data.isEmpty()) {
                return data.get(0).path("id").asText("default");
            }
        } catch (IOException e) {
            // a server without /v1/models: send "default"
        }
        return "default";
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder rb) {
        return apiKey == null ? rb : rb.header("Authorization", "Bearer " + apiKey);
    }
}
