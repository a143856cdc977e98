package io.tessera.cli.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.sim.LengthDist;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/** Shared pieces of the {@code tessera plan} commands: option groups, parsing, JSON and table output. */
public final class PlanSupport {

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PlanSupport() {
    }

    /** Parses "50ms", "1s", "0.2" (seconds), "300us". */
    public static double seconds(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Double.parseDouble(t.substring(0, t.length() - 2)) / 1e3;
            }
            if (t.endsWith("us")) {
                return Double.parseDouble(t.substring(0, t.length() - 2)) / 1e6;
            }
            if (t.endsWith("s")) {
                return Double.parseDouble(t.substring(0, t.length() - 1));
            }
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad duration '" + s + "' (e.g. 1s, 50ms)");
        }
    }

    public static Accelerator accelerator(String name, Path catalog) throws IOException {
        AcceleratorCatalog c = catalog == null ? AcceleratorCatalog.builtin() : AcceleratorCatalog.load(catalog);
        return c.get(name);
    }

    static String gb(double bytes) {
        return String.format(Locale.ROOT, "%.2f", bytes / 1e9);
    }

    static String ms(double s) {
        return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.1f", s * 1e3);
    }

    static String json(Object o) throws IOException {
        return JSON.writeValueAsString(o);
    }

    /** Workload options shared by the search and the simulator. */
    public static final class WorkloadOptions {
        /** The target rate (0 when none was given or a trace sets the arrivals). */
        public double targetRate() {
            return trace != null ? 0 : rate;
        }

        public int requestCount() {
            return requests;
        }

        @Option(names = "--rate", description = "Poisson arrival rate, requests/s (search: 0 = find the most goodput per device)")
        double rate;
        @Option(names = "--concurrency", description = "closed loop: this many clients, each sending its next request when the last one ends")
        int concurrency;
        @Option(names = "--requests", defaultValue = "200", description = "requests per simulation (default ${DEFAULT-VALUE})")
        int requests;
        @Option(names = "--input-len", defaultValue = "uniform:512:1536", description = "prompt tokens: N, uniform:A:B, normal:MEAN:SD, exp:MEAN (default ${DEFAULT-VALUE})")
        String prompt;
        // the name before --input-len (the bench commands' name); kept for old scripts
        @Option(names = "--prompt-len", hidden = true, description = "old name of --input-len")
        String promptAlias;
        @Option(names = "--output-len", defaultValue = "uniform:64:448", description = "output tokens, same forms (default ${DEFAULT-VALUE})")
        String output;
        @Option(names = "--trace", description = "trace file: JSON lines {arrival, prompt_tokens, output_tokens} or CSV arrival,prompt,output")
        Path trace;
        @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
        long seed;

        public Workload workload(boolean allowNoLoad) throws IOException {
            if (trace != null) {
                return Workload.trace(trace);
            }
            LengthDist p = LengthDist.parse(promptAlias != null ? promptAlias : prompt);
            LengthDist o = LengthDist.parse(output);
            if (concurrency > 0) {
                return Workload.closed(concurrency, requests, p, o, seed);
            }
            if (rate <= 0 && !allowNoLoad) {
                throw new IllegalArgumentException("give --rate, --concurrency or --trace");
            }
            return Workload.poisson(rate > 0 ? rate : 1, requests, p, o, seed);
        }
    }

    static Map<String, Object> latency(SimResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", r.requests());
        m.put("completed", r.completed());
        m.put("rejected", r.rejected());
        m.put("preemptions", r.preemptions());
        m.put("steps", r.steps());
        m.put("makespan_s", r.makespan());
        for (String k : List.of("ttft", "tpot", "e2e")) {
            double[] xs = k.equals("ttft") ? r.ttft() : k.equals("tpot") ? r.tpot() : r.e2e();
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("mean", SimResult.mean(xs));
            p.put("p50", r.percentile(xs, 50));
            p.put("p90", r.percentile(xs, 90));
            p.put("p99", r.percentile(xs, 99));
            m.put(k + "_s", p);
        }
        m.put("throughput_tokens_per_s", r.throughput());
        m.put("throughput_requests_per_s", r.requestThroughput());
        m.put("slo_attainment", r.attainment());
        m.put("goodput_requests_per_s", r.goodput());
        return m;
    }

    static Map<String, Object> memoryJson(MemoryModel.Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model().name());
        m.put("parameters", r.model().totalParams());
        m.put("active_parameters", r.model().activeParams());
        m.put("precision", r.precision().label());
        m.put("kv_precision", r.kvPrecision().label());
        m.put("tp", r.layout().tp());
        m.put("pp", r.layout().pp());
        m.put("ep", r.layout().ep());
        m.put("weights_bytes", r.weightsBytes());
        m.put("kv_cache_bytes_per_token", r.kvBytesPerToken());
        if (r.accelerator() != null) {
            m.put("accelerator", r.accelerator().name());
            m.put("seq_len", r.seqLen());
            m.put("fits", r.fits());
            m.put("shortfall_bytes", Math.max(0, r.shortfallBytes()));
            m.put("kv_tokens_per_replica", r.kvTokens());
            m.put("concurrent_sequences", r.concurrentSequences());
        }
        List<Map<String, Object>> devs = new java.util.ArrayList<>();
        for (MemoryModel.Device d : r.devices()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("stage", d.stage());
            x.put("layers", List.of(d.firstLayer(), d.lastLayerExclusive()));
            x.put("devices", r.layout().tp());
            x.put("weights_bytes", d.weightsBytes());
            x.put("kv_cache_bytes_per_token", d.kvBytesPerToken());
            x.put("activation_bytes", d.activationBytes());
            if (r.accelerator() != null) {
                x.put("usable_bytes", d.usableBytes());
                x.put("kv_cache_capacity_bytes", Math.max(0, d.kvCapacityBytes()));
                x.put("kv_tokens", d.kvTokens());
                x.put("fits", d.fits());
                x.put("shortfall_bytes", Math.max(0, d.shortfallBytes()));
            }
            devs.add(x);
        }
        m.put("per_device", devs);
        return m;
    }
}
