package io.tessera.cli;

import io.tessera.benchmarks.serve.ArrivalProcess;
import io.tessera.benchmarks.serve.ServeBenchmark;
import io.tessera.benchmarks.serve.ServeLoad;
import io.tessera.benchmarks.serve.Slo;
import io.tessera.benchmarks.serve.WorkloadMix;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera bench serve}: the options of {@link ServeBenchmark}, a load generator like vLLM's. */
@Command(name = "serve", mixinStandardHelpOptions = true, defaultValueProvider = BenchServeCommand.Lengths.class,
        description = "Load an OpenAI-compatible server (Tessera's or another's) with streaming requests at a fixed "
                + "concurrency or at Poisson, gamma or bursty arrivals, from a workload mix; report throughput, "
                + "TTFT, TPOT, ITL and end-to-end latency percentiles, SLO attainment and goodput; sweep several "
                + "rates for DistServe's goodput; write a JSON result and a picture (PNG or HTML).")
final class BenchServeCommand implements Callable<Integer> {

    /** 128 prompt and 128 output tokens, as vLLM's random dataset. */
    static final class Lengths extends LengthOptions.Defaults {
        Lengths() {
            super(128, 128);
        }
    }

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
            description = "Requests to send per rate (default: ${DEFAULT-VALUE}); with --duration, the cap is the "
                    + "duration.")
    int numPrompts;

    @Option(names = "--duration", paramLabel = "SECONDS",
            description = "Keep sending requests for this long instead of a fixed number, then wait for the last.")
    Double duration;

    @Option(names = "--max-concurrency", paramLabel = "N",
            description = "Requests in flight at most (default: unlimited).")
    Integer maxConcurrency;

    @Option(names = "--request-rate", defaultValue = "inf", split = ",", paramLabel = "R[,R...]",
            description = "Requests/s of the arrival process; inf sends as fast as the concurrency allows. Several "
                    + "rates are a sweep, run in ascending order (default: ${DEFAULT-VALUE}).")
    List<String> requestRate;

    @Option(names = "--arrivals", defaultValue = "poisson", paramLabel = "KIND",
            description = "Arrival process at the rate: poisson (exponential gaps), gamma (gaps of shape "
                    + "--burstiness), bursty (--burst-size requests at once, bursts as a Poisson process) "
                    + "(default: ${DEFAULT-VALUE}).")
    String arrivals;

    @Option(names = "--burstiness", defaultValue = "1", paramLabel = "K",
            description = "Gamma arrivals' shape: 1 is Poisson, below 1 burstier, above 1 more regular, as vLLM's "
                    + "--burstiness (default: ${DEFAULT-VALUE}).")
    double burstiness;

    @Option(names = "--burst-size", defaultValue = "8", paramLabel = "N",
            description = "Requests per burst of bursty arrivals (default: ${DEFAULT-VALUE}).")
    int burstSize;

    @Mixin
    LengthOptions lengths;

    @Option(names = "--mix", paramLabel = "F:IN/OUT[,...]",
            description = "A workload mix instead of --input-len/--output-len: comma-separated FRACTION:INPUT/OUTPUT "
                    + "entries, lengths N or LO-HI (uniform), fractions adding up to 1, e.g. "
                    + "0.2:1024-2048/16,0.8:64-128/256.")
    String mix;

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

    @Option(names = {"--goodput", "--slo"}, split = ",", paramLabel = "METRIC:MS",
            description = "Service-level objectives for goodput and SLO attainment, e.g. ttft:500,tpot:50,e2el:10000 "
                    + "(milliseconds).")
    List<String> goodput;

    @Option(names = "--slo-target", defaultValue = "0.9", paramLabel = "F",
            description = "Fraction of requests that must meet the SLOs for a rate of a sweep to count toward goodput "
                    + "(default: ${DEFAULT-VALUE}, DistServe's).")
    double sloTarget;

    @Option(names = "--warmup-requests", defaultValue = "0", paramLabel = "N",
            description = "Untimed requests of the same workload sent at once before measuring, so that a freshly "
                    + "started server's first compilations do not count (default: ${DEFAULT-VALUE}).")
    int warmupRequests;

    @Option(names = "--percentiles", defaultValue = "50,90,99", split = ",", paramLabel = "P",
            description = "Percentiles to report (default: ${DEFAULT-VALUE}).")
    List<Double> percentiles;

    @Option(names = "--result-json", paramLabel = "FILE", description = "Write the result as JSON.")
    Path resultJson;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "Write a picture, FILE.png or FILE.html (self-contained): latency distributions and "
                    + "throughput over time; for a sweep, TPOT p99, TTFT p99 and SLO attainment against the rate.")
    Path plot;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "Per-request timeout (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (mix != null && dataset != null) {
            throw new IllegalArgumentException("--mix and --dataset both say where prompts come from; give one");
        }
        ArrivalProcess.Kind kind = ArrivalProcess.Kind.parse(arrivals);
        ServeBenchmark.Config config = new ServeBenchmark.Config(baseUrl, endpoint, model, apiKey.key(),
                new ServeLoad.Plan(numPrompts, duration, maxConcurrency), ServeBenchmark.parseRates(requestRate),
                kind, burstiness, burstSize, mix != null ? WorkloadMix.parse(mix) : lengths.mix(), dataset,
                lengths.outputLen, vocabSize, !noIgnoreEos, Slo.parse(goodput), sloTarget, warmupRequests, percentiles,
                resultJson, plot, timeout, seed);
        return new ServeBenchmark(config, System.out).run();
    }
}
