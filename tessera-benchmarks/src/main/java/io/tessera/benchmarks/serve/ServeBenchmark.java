package io.tessera.benchmarks.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.benchmarks.plot.ChartFile;
import io.tessera.benchmarks.plot.ServePlot;
import io.tessera.benchmarks.plot.SweepPlot;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * {@code tessera bench serve}: a load generator against any OpenAI-compatible server, like
 * {@code vllm bench serve}. Every request streams, so time to first token and inter-token latency
 * are what a client sees. One offered rate gives vLLM's result table and a picture of the
 * distributions; several rates are a sweep, run in ascending order with the same prompts, whose
 * table and picture show TTFT/TPOT p99 and SLO attainment against the rate, and whose goodput is
 * DistServe's (see {@link Goodput}).
 */
public final class ServeBenchmark {

    /**
     * What to measure.
     *
     * @param model the model id to send; null for the first of {@code /v1/models}
     * @param apiKey the bearer key; null for none
     * @param rates offered request rates (requests/s; infinity sends as fast as the concurrency allows)
     * @param mix the random prompts' classes; ignored when {@code dataset} is given
     * @param dataset prompts from a file instead, or null
     * @param outputLen output tokens of a dataset line that names none
     * @param sloTarget the fraction of requests that must meet the SLOs for a rate to count as good
     * @param warmupRequests untimed requests sent at once before the first rate
     * @param resultJson where to write the JSON result, or null
     * @param plot where to write the picture, or null
     */
    public record Config(String baseUrl, String endpoint, String model, String apiKey, ServeLoad.Plan plan,
            List<Double> rates, ArrivalProcess.Kind arrivals, double burstiness, int burstSize, WorkloadMix mix,
            Path dataset, int outputLen, int vocabSize, boolean ignoreEos, Slo slo, double sloTarget,
            int warmupRequests, List<Double> percentiles, Path resultJson, Path plot, double timeoutSeconds,
            long seed) {

        public Config {
            rates = List.copyOf(rates);
            if (rates.isEmpty()) {
                throw new IllegalArgumentException("--request-rate needs at least one rate");
            }
            for (double r : rates) {
                // validates the rate and the arrival parameters before anything is sent
                ArrivalProcess.of(arrivals, r, burstiness, burstSize, 0);
            }
            if (!(timeoutSeconds > 0)) {
                throw new IllegalArgumentException("--timeout must be positive, got " + timeoutSeconds);
            }
            if (plot != null) {
                ChartFile.check(plot);
            }
            Goodput.of(List.of(), sloTarget);
            if (warmupRequests < 0 || warmupRequests > 10_000) {
                throw new IllegalArgumentException("--warmup-requests must be 0 to 10000, got " + warmupRequests);
            }
        }

        boolean chat() {
            return endpoint.contains("chat");
        }
    }

    /** Parses {@code --request-rate} values: positive numbers or {@code inf}. */
    public static List<Double> parseRates(List<String> values) {
        List<Double> rates = new ArrayList<>();
        for (String v : values) {
            String s = v.strip();
            double r;
            try {
                r = s.equalsIgnoreCase("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--request-rate must be positive or inf, got '" + v + "'");
            }
            if (!(r > 0)) {
                throw new IllegalArgumentException("--request-rate must be positive or inf, got '" + v + "'");
            }
            rates.add(r);
        }
        return rates;
    }

    private final Config config;
    private final PrintStream out;

    public ServeBenchmark(Config config, PrintStream out) {
        this.config = config;
        this.out = out;
    }

    /** Runs the benchmark; 0 when every request succeeded, 1 otherwise. */
    public int run() throws IOException, InterruptedException {
        checkDirectory(config.resultJson(), "--result-json");
        URI base = URI.create(config.baseUrl());
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(Executors.newVirtualThreadPerTaskExecutor()).build()) {
            String modelId = config.model() != null ? config.model()
                    : ServeClient.firstModel(http, base, config.apiKey());
            ServeClient client = new ServeClient(http, base.resolve(config.endpoint()), config.chat(), modelId,
                    config.apiKey(), config.ignoreEos(), Duration.ofMillis((long) (config.timeoutSeconds() * 1000)));
            PromptSource prompts = config.dataset() != null
                    ? PromptSource.dataset(config.dataset(), config.outputLen())
                    : PromptSource.random(config.mix(), config.vocabSize(), config.chat());
            List<Double> rates = config.rates().stream().sorted().toList();
            ServePlan described = new ServePlan(config, modelId, prompts);
            out.println(described.line(rates));
            warmUp(client, prompts);
            ServeSummary summary = new ServeSummary(config.percentiles());
            ServeReport report = new ServeReport(out, summary.percentiles());
            List<Map<String, Object>> results = new ArrayList<>();
            ServeLoad.Run last = null;
            int failed = 0;
            for (double rate : rates) {
                ArrivalProcess arrivals = ArrivalProcess.of(config.arrivals(), rate, config.burstiness(),
                        config.burstSize(), config.seed() ^ ARRIVAL_SEED);
                last = ServeLoad.run(client, prompts, arrivals, config.plan(), config.seed());
                Map<String, Object> result = summary.summarize(described.header(rate), last, config.slo(),
                        config.dataset() == null ? config.mix() : null);
                report.print(result);
                results.add(result);
                failed += ((Number) result.get("failed")).intValue();
            }
            Object json;
            String title = config.baseUrl() + config.endpoint() + " · " + modelId;
            if (results.size() == 1) {
                json = results.get(0);
                if (config.plot() != null) {
                    ServePlot.write(config.plot(), last.outcomes(), last.startNanos(), last.elapsedSeconds(), title);
                }
            } else {
                Goodput goodput = config.slo().isEmpty() ? null : Goodput.of(points(results), config.sloTarget());
                report.printSweep(results, goodput, config.slo());
                Map<String, Object> sweep = new LinkedHashMap<>();
                sweep.put("sweep", results);
                sweep.put("goodput", goodput == null ? null : goodput.toJson());
                json = sweep;
                if (config.plot() != null) {
                    writeSweepPlot(results, title, goodput);
                }
            }
            if (config.resultJson() != null) {
                Files.writeString(config.resultJson(), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(json), StandardCharsets.UTF_8);
                out.println("result: " + config.resultJson());
            }
            if (config.plot() != null) {
                out.println("plot: " + config.plot());
            }
            return failed == 0 ? 0 : 1;
        }
    }

    /** Separates the arrivals' random stream from the prompts', which use the seed itself. */
    private static final long ARRIVAL_SEED = 0x5DEECE66DL;

    /** Separates the warm-up prompts' draws from the measured ones, which stay as without a warm-up. */
    private static final long WARMUP_SEED = 0x2545F4914F6CDD1DL;

    /**
     * Sends the warm-up requests all at once (up to the concurrency limit), untimed, so that a
     * freshly started server's compilation of each prompt shape and of mixed prefill/decode batches
     * does not land on the first rate of a sweep (where it would fail the SLOs and, by
     * {@link Goodput}'s rule, every rate above it).
     */
    private void warmUp(ServeClient client, PromptSource prompts) throws InterruptedException {
        if (config.warmupRequests() == 0) {
            return;
        }
        ServeLoad.Run run = ServeLoad.run(client, prompts,
                ArrivalProcess.of(ArrivalProcess.Kind.POISSON, Double.POSITIVE_INFINITY, 1, 1, 0),
                new ServeLoad.Plan(config.warmupRequests(), null, config.plan().maxConcurrency()),
                config.seed() ^ WARMUP_SEED);
        long failed = run.outcomes().stream().filter(o -> !o.ok()).count();
        out.printf(Locale.ROOT, "warm-up: %d requests, %d failed%n", config.warmupRequests(), failed);
    }

    private static List<Goodput.Point> points(List<Map<String, Object>> results) {
        List<Goodput.Point> points = new ArrayList<>();
        for (Map<String, Object> r : results) {
            points.add(new Goodput.Point(rate(r), (double) r.get("slo_attainment")));
        }
        return points;
    }

    private static double rate(Map<String, Object> r) {
        return r.get("request_rate") instanceof Double d ? d : Double.POSITIVE_INFINITY;
    }

    @SuppressWarnings("unchecked")
    private void writeSweepPlot(List<Map<String, Object>> results, String title, Goodput goodput) throws IOException {
        List<SweepPlot.Point> points = new ArrayList<>();
        for (Map<String, Object> r : results) {
            Object attainment = r.get("slo_attainment");
            points.add(new SweepPlot.Point(String.valueOf(Goodput.json(rate(r))),
                    (double) ((Map<String, Object>) r.get("tpot")).get("p99_ms"),
                    (double) ((Map<String, Object>) r.get("ttft")).get("p99_ms"),
                    attainment == null ? Double.NaN : (double) attainment));
        }
        Map<String, Double> limits = config.slo().limitsMs();
        String subtitle = String.format(Locale.ROOT, "%s arrivals, %s; %s", config.arrivals().label(),
                config.dataset() != null ? config.dataset().toString() : "mix " + config.mix().spec(),
                goodput == null ? "no SLO given" : "goodput " + Goodput.json(goodput.rate()) + " req/s at "
                        + Math.round(goodput.target() * 100) + "% within " + limits);
        SweepPlot.write(config.plot(), points, limits.getOrDefault("tpot", Double.NaN),
                limits.getOrDefault("ttft", Double.NaN), config.sloTarget(), title, subtitle);
    }

    private static void checkDirectory(Path file, String option) {
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new IllegalArgumentException(option + ": the directory " + parent + " does not exist");
        }
    }

    /** The run's description: the first report line and the JSON result's header fields. */
    private record ServePlan(Config config, String modelId, PromptSource prompts) {

        String line(List<Double> rates) {
            Config c = config;
            return String.format(Locale.ROOT, "bench serve: %s%s, model %s, %s, concurrency %s, request rate %s (%s "
                            + "arrivals), prompts %s", c.baseUrl(), c.endpoint(), modelId,
                    c.plan().durationSeconds() != null ? "for " + c.plan().durationSeconds() + " s"
                            : c.plan().numPrompts() + " requests",
                    c.plan().maxConcurrency() == null ? "unlimited" : c.plan().maxConcurrency(),
                    rates.stream().map(r -> String.valueOf(Goodput.json(r))).toList(), c.arrivals().label(),
                    c.dataset() != null ? prompts.describe() : "mix " + c.mix().spec());
        }

        Map<String, Object> header(double rate) {
            Config c = config;
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("base_url", c.baseUrl());
            r.put("endpoint", c.endpoint());
            r.put("model", modelId);
            r.put("max_concurrency", c.plan().maxConcurrency());
            r.put("request_rate", Goodput.json(rate));
            r.put("arrivals", c.arrivals().label());
            if (c.arrivals() == ArrivalProcess.Kind.GAMMA) {
                r.put("burstiness", c.burstiness());
            }
            if (c.arrivals() == ArrivalProcess.Kind.BURSTY) {
                r.put("burst_size", c.burstSize());
            }
            r.put("mix", c.dataset() != null ? null : c.mix().spec());
            r.put("dataset", c.dataset() == null ? "random" : prompts.describe());
            return r;
        }
    }
}
