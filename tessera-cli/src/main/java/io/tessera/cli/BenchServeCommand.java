package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera bench serve}: a load generator against any OpenAI-compatible server, like
 * {@code vllm bench serve}. Streams every request so that time to first token and inter-token
 * latency are what a client sees.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Load an OpenAI-compatible server (Tessera's or another's) with streaming requests at a fixed "
                + "concurrency or Poisson arrivals; report throughput, TTFT, TPOT, ITL and end-to-end latency "
                + "percentiles and goodput; write a JSON result and a picture (PNG or HTML).")
final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--base-url", defaultValue = "http://127.0.0.1:8000", paramLabel = "URL",
            description = "The server (default: ${DEFAULT-VALUE}).")
    String baseUrl;

    @Option(names = "--endpoint", defaultValue = "/v1/completions", paramLabel = "PATH",
            description = "/v1/completions or /v1/chat/completions (default: ${DEFAULT-VALUE}).")
    String endpoint;

    @Option(names = "--model", paramLabel = "NAME", description = "Model id (default: the first of /v1/models).")
    String model;

    @Mixin
    ApiKeyOption apiKey = new ApiKeyOption();

    @Option(names = "--num-prompts", defaultValue = "200", paramLabel = "N",
            description = "Requests to send (default: ${DEFAULT-VALUE}); with --duration, the cap is the duration.")
    int numPrompts;

    @Option(names = "--duration", paramLabel = "SECONDS",
            description = "Keep sending requests for this long instead of a fixed number, then wait for the last.")
    Double duration;

    @Option(names = "--max-concurrency", paramLabel = "N",
            description = "Requests in flight at most (default: unlimited).")
    Integer maxConcurrency;

    @Option(names = "--request-rate", defaultValue = "inf", paramLabel = "R",
            description = "Poisson arrivals at R requests/s; inf sends as fast as the concurrency allows "
                    + "(default: ${DEFAULT-VALUE}).")
    String requestRate;

    @Option(names = "--input-len", defaultValue = "128", paramLabel = "N",
            description = "Prompt tokens of the random dataset (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", defaultValue = "128", paramLabel = "N",
            description = "Tokens to generate per request (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--range-ratio", defaultValue = "0", paramLabel = "R",
            description = "Random lengths, uniform in [len·(1-R), len·(1+R)] (default: ${DEFAULT-VALUE}: fixed).")
    double rangeRatio;

    @Option(names = "--vocab-size", defaultValue = "256", paramLabel = "N",
            description = "Random prompts use token ids in [3, N) on /v1/completions (default: ${DEFAULT-VALUE}, valid "
                    + "for any vocabulary); random words on chat.")
    int vocabSize;

    @Option(names = "--dataset", paramLabel = "FILE",
            description = "Prompts from a file instead: JSON lines with \"prompt\" (and optional \"output_len\"), or "
                    + "one plain-text prompt per line. Used in order, cycling.")
    Path dataset;

    @Option(names = "--no-ignore-eos", description = "Let requests stop at EOS (default: send ignore_eos so that "
            + "each request generates exactly its output length).")
    boolean noIgnoreEos;

    @Option(names = "--goodput", split = ",", paramLabel = "METRIC:MS",
            description = "Service-level limits for goodput, e.g. ttft:500,tpot:50,e2el:10000 (milliseconds).")
    List<String> goodput;

    @Option(names = "--percentiles", defaultValue = "50,90,99", split = ",", paramLabel = "P",
            description = "Percentiles to report (default: ${DEFAULT-VALUE}).")
    List<Double> percentiles;

    @Option(names = "--result-json", paramLabel = "FILE", description = "Write the result as JSON.")
    Path resultJson;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "Write latency distributions and throughput over time: FILE.png, or FILE.html (self-contained).")
    Path plot;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "Per-request timeout (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    private static final String[] WORDS = ("the a one little big dog cat house tree sun day night happy sad "
            + "ran saw played with friend mom park ball red blue green went found said time once upon there "
            + "was girl boy named lily tom they were very good bird sky water fish").split(" ");

    @Override
    public Integer call() throws Exception {
        if (numPrompts < 1 || inputLen < 1 || outputLen < 1 || (maxConcurrency != null && maxConcurrency < 1)) {
            throw new IllegalArgumentException("--num-prompts, --input-len, --output-len and --max-concurrency must "
                    + "be at least 1");
        }
        double rate = requestRate.equalsIgnoreCase("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(requestRate);
        if (!(rate > 0)) {
            throw new IllegalArgumentException("--request-rate must be positive or inf, got " + requestRate);
        }
        Map<String, Double> slo = parseGoodput();
        boolean chat = endpoint.contains("chat");
        String key = apiKey.key();
        URI base = URI.create(baseUrl);
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(Executors.newVirtualThreadPerTaskExecutor()).build()) {
            String modelId = model != null ? model : BenchServeClient.firstModel(http, base, key);
            BenchServeClient client = new BenchServeClient(http, base.resolve(endpoint), chat, modelId, key,
                    !noIgnoreEos, Duration.ofMillis((long) (timeout * 1000)));
            List<BenchServeClient.Prompt> fileprompts = dataset != null ? readDataset(dataset) : null;
            Random rnd = new Random(seed);
            PrintStream out = System.out;
            out.printf(Locale.ROOT, "bench serve: %s%s, model %s, %s, concurrency %s, request rate %s%n", baseUrl,
                    endpoint, modelId, duration != null ? "for " + duration + " s" : numPrompts + " requests",
                    maxConcurrency == null ? "unlimited" : maxConcurrency, requestRate);

            List<BenchServeClient.Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
            Semaphore slots = maxConcurrency == null ? null : new Semaphore(maxConcurrency);
            long start = System.nanoTime();
            long end = duration == null ? Long.MAX_VALUE : start + (long) (duration * 1e9);
            int sent = 0;
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                while ((duration != null || sent < numPrompts) && System.nanoTime() < end) {
                    if (Double.isFinite(rate)) {
                        double gap = -Math.log(1 - rnd.nextDouble()) / rate;
                        Thread.sleep((long) (gap * 1000), (int) ((gap * 1e9) % 1_000_000));
                        if (System.nanoTime() >= end) {
                            break;
                        }
                    }
                    if (slots != null) {
                        slots.acquire();
                        if (System.nanoTime() >= end) {
                            slots.release();
                            break;
                        }
                    }
                    BenchServeClient.Prompt p = fileprompts != null ? fileprompts.get(sent % fileprompts.size())
                            : randomPrompt(rnd, chat);
                    sent++;
                    pool.submit(() -> {
                        try {
                            outcomes.add(client.send(p));
                        } finally {
                            if (slots != null) {
                                slots.release();
                            }
                        }
                    });
                }
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            Map<String, Object> result = summarize(outcomes, elapsed, slo, modelId, rate, start);
            printReport(out, result);
            if (resultJson != null) {
                Files.writeString(resultJson, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(result), StandardCharsets.UTF_8);
                out.println("result: " + resultJson);
            }
            if (plot != null) {
                BenchPlot.write(plot, outcomes, start, elapsed, baseUrl + endpoint + " · " + modelId);
                out.println("plot: " + plot);
            }
            return ((Number) result.get("failed")).intValue() == 0 ? 0 : 1;
        }
    }

    private int len(Random rnd, int len) {
        int lo = Math.max(1, (int) Math.floor(len * (1 - rangeRatio)));
        int hi = Math.max(lo, (int) Math.ceil(len * (1 + rangeRatio)));
        return lo + rnd.nextInt(hi - lo + 1);
    }

    private BenchServeClient.Prompt randomPrompt(Random rnd, boolean chat) {
        int in = len(rnd, inputLen);
        int outLen = len(rnd, outputLen);
        if (chat) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < in; i++) {
                sb.append(i == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
            }
            return new BenchServeClient.Prompt(sb.toString(), null, in, outLen);
        }
        int[] ids = new int[in];
        for (int i = 0; i < in; i++) {
            ids[i] = 3 + rnd.nextInt(Math.max(1, vocabSize - 3));
        }
        return new BenchServeClient.Prompt(null, ids, in, outLen);
    }

    private List<BenchServeClient.Prompt> readDataset(Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<BenchServeClient.Prompt> list = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String text = line;
            int out = outputLen;
            if (line.stripLeading().startsWith("{")) {
                var node = json.readTree(line);
                text = node.path("prompt").asText();
                out = node.path("output_len").asInt(outputLen);
            }
            list.add(new BenchServeClient.Prompt(text, null, 0, out));
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException("the dataset " + file + " has no prompt");
        }
        return list;
    }

    private Map<String, Double> parseGoodput() {
        Map<String, Double> slo = new LinkedHashMap<>();
        if (goodput == null) {
            return slo;
        }
        for (String g : goodput) {
            String[] kv = g.split(":");
            if (kv.length != 2 || !List.of("ttft", "tpot", "e2el").contains(kv[0])) {
                throw new IllegalArgumentException("--goodput takes ttft:MS, tpot:MS or e2el:MS, got " + g);
            }
            slo.put(kv[0], Double.parseDouble(kv[1]));
        }
        return slo;
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double pos = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private Map<String, Object> stats(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).map(x -> x * 1000).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mean_ms", v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElse(Double.NaN));
        m.put("median_ms", percentile(v, 50));
        for (double p : percentiles) {
            m.put("p" + fmtP(p) + "_ms", percentile(v, p));
        }
        m.put("max_ms", v.length == 0 ? Double.NaN : v[v.length - 1]);
        return m;
    }

    private static String fmtP(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    private Map<String, Object> summarize(List<BenchServeClient.Outcome> outcomes, double elapsed,
            Map<String, Double> slo, String modelId, double rate, long start) {
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        long in = 0;
        long outTokens = 0;
        int ok = 0;
        int good = 0;
        Map<String, Integer> errors = new LinkedHashMap<>();
        for (BenchServeClient.Outcome o : outcomes) {
            if (!o.ok()) {
                errors.merge(o.error().length() > 200 ? o.error().substring(0, 200) : o.error(), 1, Integer::sum);
                continue;
            }
            ok++;
            in += o.promptTokens();
            outTokens += o.outputTokens();
            ttft.add(o.ttft());
            e2e.add(o.e2e());
            itl.addAll(o.itl());
            double t = o.outputTokens() > 1 ? (o.e2e() - o.ttft()) / (o.outputTokens() - 1) : 0;
            if (o.outputTokens() > 1) {
                tpot.add(t);
            }
            boolean isGood = (!slo.containsKey("ttft") || o.ttft() * 1000 <= slo.get("ttft"))
                    && (!slo.containsKey("tpot") || t * 1000 <= slo.get("tpot"))
                    && (!slo.containsKey("e2el") || o.e2e() * 1000 <= slo.get("e2el"));
            if (isGood) {
                good++;
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("base_url", baseUrl);
        r.put("endpoint", endpoint);
        r.put("model", modelId);
        r.put("max_concurrency", maxConcurrency);
        r.put("request_rate", Double.isFinite(rate) ? rate : "inf");
        r.put("input_len", dataset != null ? null : inputLen);
        r.put("output_len", outputLen);
        r.put("range_ratio", rangeRatio);
        r.put("dataset", dataset == null ? "random" : dataset.toString());
        r.put("duration_s", elapsed);
        r.put("completed", ok);
        r.put("failed", outcomes.size() - ok);
        r.put("errors", errors);
        r.put("total_input_tokens", in);
        r.put("total_output_tokens", outTokens);
        r.put("request_throughput", ok / elapsed);
        r.put("output_throughput", outTokens / elapsed);
        r.put("total_token_throughput", (in + outTokens) / elapsed);
        if (!slo.isEmpty()) {
            r.put("goodput_limits_ms", slo);
            r.put("request_goodput", good / elapsed);
        }
        r.put("ttft", stats(ttft));
        r.put("tpot", stats(tpot));
        r.put("itl", stats(itl));
        r.put("e2el", stats(e2e));
        r.put("output_throughput_per_s", BenchPlot.throughputSeries(outcomes, start, elapsed));
        return r;
    }

    @SuppressWarnings("unchecked")
    private void printReport(PrintStream out, Map<String, Object> r) {
        out.println("============ Serving Benchmark Result ============");
        line(out, "Successful requests:", r.get("completed"));
        line(out, "Failed requests:", r.get("failed"));
        line(out, "Benchmark duration (s):", r.get("duration_s"));
        line(out, "Total input tokens:", r.get("total_input_tokens"));
        line(out, "Total generated tokens:", r.get("total_output_tokens"));
        line(out, "Request throughput (req/s):", r.get("request_throughput"));
        if (r.containsKey("request_goodput")) {
            line(out, "Request goodput (req/s):", r.get("request_goodput"));
        }
        line(out, "Output token throughput (tok/s):", r.get("output_throughput"));
        line(out, "Total token throughput (tok/s):", r.get("total_token_throughput"));
        for (String[] sec : new String[][] {{"ttft", "Time to First Token", "TTFT"},
            {"tpot", "Time per Output Token (excl. 1st token)", "TPOT"}, {"itl", "Inter-token Latency", "ITL"},
            {"e2el", "End-to-end Latency", "E2EL"}}) {
            String title = " " + sec[1] + " ";
            int pad = Math.max(0, 50 - title.length());
            out.println("-".repeat(pad / 2) + title + "-".repeat(pad - pad / 2));
            Map<String, Object> s = (Map<String, Object>) r.get(sec[0]);
            line(out, "Mean " + sec[2] + " (ms):", s.get("mean_ms"));
            line(out, "Median " + sec[2] + " (ms):", s.get("median_ms"));
            for (double p : percentiles) {
                if (p != 50) {
                    line(out, "P" + fmtP(p) + " " + sec[2] + " (ms):", s.get("p" + fmtP(p) + "_ms"));
                }
            }
        }
        Map<String, Integer> errors = (Map<String, Integer>) r.get("errors");
        errors.forEach((e, n) -> out.println("error (" + n + "×): " + e));
        out.println("==================================================");
    }

    private static void line(PrintStream out, String label, Object v) {
        String s = v instanceof Double d ? String.format(Locale.ROOT, "%.2f", d) : String.valueOf(v);
        out.printf(Locale.ROOT, "%-40s %9s%n", label, s);
    }
}
