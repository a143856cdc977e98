package io.tessera.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.tessera.core.kernel.Kernels;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineStats;
import io.tessera.engine.kv.KvStats;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The server's Prometheus metrics (names in the README's Server section) and the live numbers of
 * the web UI. Latencies are observed by the request handlers; the engine's counters and gauges are
 * read from its stats at scrape time. The request, token and engine metrics carry a
 * {@code model_name} label (the served model's name, as vLLM labels its metrics), and
 * {@link #scrape()} adds their vLLM names ({@link VllmMetricNames}) so that dashboards made for
 * vLLM read Tessera.
 */
public final class ServerMetrics {

    private static final double[] LATENCY_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
        0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] E2E_BUCKETS = {0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
        60.0, 120.0, 240.0, 480.0, 960.0};

    /** The label every request, token and engine metric has. */
    static final String MODEL_LABEL = "model_name";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Engine engine;
    private final String modelName;
    final DistributionDataPoint ttft;
    final DistributionDataPoint itl;
    final DistributionDataPoint e2e;
    final CounterDataPoint promptTokens;
    final CounterDataPoint generationTokens;
    final RequestSuccess requestSuccess;
    final Counter httpErrors;
    final Counter slowRequestsClosed;
    private final Deque<long[]> samples = new ArrayDeque<>();

    /** Finished requests by finish reason, for the served model. */
    static final class RequestSuccess {
        private final Counter counter;
        private final String modelName;

        RequestSuccess(Counter counter, String modelName) {
            this.counter = counter;
            this.modelName = modelName;
        }

        /** The count of one finish reason (stop, length, abort, error). */
        CounterDataPoint labelValues(String finishedReason) {
            return counter.labelValues(finishedReason, modelName);
        }
    }

    /** The server's metrics; {@code modelName} is the {@code model_name} label. */
    public ServerMetrics(Engine engine, String modelName) {
        this.engine = engine;
        this.modelName = modelName;
        ttft = Histogram.builder().name("tessera_time_to_first_token_seconds")
                .help("Time from a request's arrival to its first output token.").labelNames(MODEL_LABEL)
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry).labelValues(modelName);
        itl = Histogram.builder().name("tessera_inter_token_latency_seconds")
                .help("Time between two consecutive output tokens of a sample.").labelNames(MODEL_LABEL)
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry).labelValues(modelName);
        e2e = Histogram.builder().name("tessera_e2e_request_latency_seconds")
                .help("Time from a request's arrival to its last output.").labelNames(MODEL_LABEL)
                .classicOnly().classicUpperBounds(E2E_BUCKETS).register(registry).labelValues(modelName);
        promptTokens = Counter.builder().name("tessera_prompt_tokens_total")
                .help("Prompt tokens of finished requests.").labelNames(MODEL_LABEL).register(registry)
                .labelValues(modelName);
        generationTokens = Counter.builder().name("tessera_generation_tokens_total")
                .help("Tokens generated for finished requests.").labelNames(MODEL_LABEL).register(registry)
                .labelValues(modelName);
        requestSuccess = new RequestSuccess(Counter.builder().name("tessera_request_success_total")
                .help("Requests finished, by finish reason (stop, length, abort, error).")
                .labelNames("finished_reason", MODEL_LABEL).register(registry), modelName);
        httpErrors = Counter.builder().name("tessera_http_errors_total")
                .help("API requests answered with an error, by HTTP status.")
                .labelNames("status").register(registry);
        slowRequestsClosed = Counter.builder().name("tessera_http_slow_requests_closed_total")
                .help("Connections closed because a request took longer than the read timeout to arrive.")
                .register(registry);
        GaugeWithCallback.builder().name("tessera_requests_running")
                .help("Requests in the engine's running batch.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.stats().running(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_requests_waiting")
                .help("Requests admitted and waiting for the running batch.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.stats().waiting(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_kv_cache_usage_ratio")
                .help("Share of KV cache blocks in use (1 = full).").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(kvUsage(engine.kvStats()), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_prefix_cache_hit_rate")
                .help("Share of looked-up prompt tokens found in the prefix cache, since start.")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.kvStats().hitRate(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_prefix_cache_queries_total")
                .help("Prompt tokens looked up in the prefix cache.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.kvStats().prefixQueryTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_prefix_cache_hits_total")
                .help("Prompt tokens found in the prefix cache.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.kvStats().prefixHitTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_preemptions_total")
                .help("Sequences preempted for lack of KV blocks (recomputed later).").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.stats().preemptions(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_engine_steps_total")
                .help("Forward passes the engine ran.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.stats().steps(), modelName)).register(registry);
        KvOffloadMetrics.register(registry, engine, modelName);
        registerSpeculative();
        GaugeWithCallback.builder().name("tessera_kv_blocks_used")
                .help("KV cache blocks in use (by requests, or held for KV transfers).").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.kvStats().usedBlocks(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_kv_transfer_pinned_blocks")
                .help("KV blocks of finished prefills kept until a decode instance pulls them or they time out.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.transferStats().pinnedBlocks(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_kv_transfer_loading_blocks")
                .help("KV blocks held by loads from a prefill instance in flight.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.transferStats().loadingBlocks(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_kv_transfer_loaded_tokens_total")
                .help("Prompt tokens whose KV was loaded from a prefill instance instead of computed.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.transferStats().loadedTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_kv_transfer_load_failures_total")
                .help("KV loads that failed (refused, connection lost, timed out); those prompts were computed here.").labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.transferStats().loadFailures(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_kv_transfer_connector")
                .help("The KV connector's own counters (pulls served and refused, pins expired, loads done, failed "
                        + "and timed out, bytes and tokens sent and received), by name.")
                .labelNames(MODEL_LABEL, "counter")
                .callback(cb -> engine.kvConnector().counters().forEach((k, v) -> cb.call(v, modelName, k)))
                .register(registry);
        CounterWithCallback.builder().name("tessera_expert_tokens_total")
                .help("Tokens routed to each expert of each mixture-of-experts layer (a token counts once for each "
                        + "of its experts); layers without routed tokens are left out.")
                .labelNames(MODEL_LABEL, "layer", "expert")
                .callback(cb -> {
                    long[][] load = engine.expertLoad();
                    for (int l = 0; load != null && l < load.length; l++) {
                        if (java.util.Arrays.stream(load[l]).sum() == 0) {
                            continue;
                        }
                        for (int e = 0; e < load[l].length; e++) {
                            cb.call(load[l][e], modelName, Integer.toString(l), Integer.toString(e));
                        }
                    }
                }).register(registry);
        // exposed as tessera_kernels_info; the kernels are chosen once, before the server starts
        Info.builder().name("tessera_kernels")
                .help("The weight kernels in use (label kernels: \"native avx512\", \"native avx2\", \"native generic\" or \"java\").")
                .labelNames("kernels").register(registry).setLabelValues(Kernels.name());
    }

    /** Speculative decoding counters (vLLM's spec_decode names), zero while speculation is off. */
    private void registerSpeculative() {
        CounterWithCallback.builder().name("tessera_spec_decode_num_drafts_total")
                .help("Sequence-steps that verified proposed tokens.")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().verifySteps(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_spec_decode_num_draft_tokens_total")
                .help("Tokens proposed for verification.")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().proposedTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_spec_decode_num_accepted_tokens_total")
                .help("Proposed tokens the model accepted.")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().acceptedTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_spec_decode_num_emitted_tokens_total")
                .help("Tokens produced by verifying steps (accepted ones plus the model's own next token each).")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().emittedTokens(), modelName)).register(registry);
        CounterWithCallback.builder().name("tessera_spec_decode_num_accepted_tokens_per_pos")
                .help("Accepted proposed tokens by position in the draft (0 = first).")
                .labelNames(MODEL_LABEL, "position")
                .callback(cb -> {
                    long[] at = engine.speculativeStats().acceptedAt();
                    for (int i = 0; i < at.length; i++) {
                        cb.call(at[i], modelName, Integer.toString(i));
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("tessera_spec_decode_acceptance_rate")
                .help("Accepted over proposed tokens since start.")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().acceptanceRate(), modelName)).register(registry);
        GaugeWithCallback.builder().name("tessera_spec_decode_tokens_per_step")
                .help("Mean tokens a verifying sequence-step produced since start (1 = no gain).")
                .labelNames(MODEL_LABEL)
                .callback(cb -> cb.call(engine.speculativeStats().tokensPerVerifyStep(), modelName)).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** What {@code /metrics} exposes: every metric, then the vLLM names of those vLLM has. */
    public MetricSnapshots scrape() {
        return VllmMetricNames.withAliases(registry.scrape());
    }

    static double kvUsage(KvStats kv) {
        return kv.totalBlocks() == 0 ? 0 : (double) kv.usedBlocks() / kv.totalBlocks();
    }

    /** Takes a sample of the engine's token counters (called about once a second) for the rates. */
    synchronized void sample() {
        EngineStats s = engine.stats();
        samples.addLast(new long[] {System.nanoTime(), s.generatedTokens(), s.promptTokensComputed()});
        while (samples.size() > 6) {
            samples.removeFirst();
        }
    }

    /** The live numbers of the web UI: {@code GET /stats}. */
    synchronized Map<String, Object> live(int pending) {
        EngineStats s = engine.stats();
        KvStats kv = s.kv();
        double genRate = 0;
        double promptRate = 0;
        if (samples.size() >= 2) {
            long[] a = samples.getFirst();
            long[] b = samples.getLast();
            double dt = (b[0] - a[0]) / 1e9;
            if (dt > 0) {
                genRate = (b[1] - a[1]) / dt;
                promptRate = (b[2] - a[2]) / dt;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests_running", s.running());
        m.put("requests_waiting", s.waiting());
        m.put("requests_pending", pending);
        m.put("generation_tokens_per_s", Math.round(genRate * 10) / 10.0);
        m.put("prompt_tokens_per_s", Math.round(promptRate * 10) / 10.0);
        m.put("kv_cache_usage", kvUsage(kv));
        m.put("kv_blocks_used", kv.usedBlocks());
        m.put("kv_blocks_total", kv.totalBlocks());
        m.put("prefix_cache_hit_rate", kv.hitRate());
        m.put("preemptions", s.preemptions());
        m.put("generated_tokens", s.generatedTokens());
        m.put("finished_requests", s.finishedRequests());
        return m;
    }
}
