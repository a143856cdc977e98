package io.tessera.benchmarks.serve;

import io.tessera.benchmarks.Percentiles;
import io.tessera.benchmarks.plot.ServePlot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The statistics of one load, as the JSON result names them (vLLM's {@code bench serve} names):
 * counts, throughput, goodput and SLO attainment, and TTFT/TPOT/ITL/E2EL distributions in
 * milliseconds, overall and per workload-mix class.
 */
public final class ServeSummary {

    private final List<Double> percentiles;

    public ServeSummary(List<Double> percentiles) {
        for (double p : percentiles) {
            if (!(p >= 0 && p <= 100)) {
                throw new IllegalArgumentException("--percentiles must be in [0, 100], got " + p);
            }
        }
        this.percentiles = List.copyOf(percentiles);
    }

    public List<Double> percentiles() {
        return percentiles;
    }

    /**
     * The result of {@code run}: {@code header} first (what was measured), then the statistics.
     *
     * @param mix the workload mix the prompts came from, for per-class statistics; null for a dataset
     */
    public Map<String, Object> summarize(Map<String, Object> header, ServeLoad.Run run, Slo slo, WorkloadMix mix) {
        List<ServeOutcome> outcomes = run.outcomes();
        double elapsed = run.elapsedSeconds();
        long in = 0;
        long out = 0;
        int ok = 0;
        Map<String, Integer> errors = new LinkedHashMap<>();
        for (ServeOutcome o : outcomes) {
            if (!o.ok()) {
                errors.merge(o.error().length() > 200 ? o.error().substring(0, 200) : o.error(), 1, Integer::sum);
                continue;
            }
            ok++;
            in += o.promptTokens();
            out += o.outputTokens();
        }
        Map<String, Object> r = new LinkedHashMap<>(header);
        r.put("duration_s", elapsed);
        r.put("completed", ok);
        r.put("failed", outcomes.size() - ok);
        r.put("errors", errors);
        r.put("total_input_tokens", in);
        r.put("total_output_tokens", out);
        r.put("request_throughput", ok / elapsed);
        r.put("output_throughput", out / elapsed);
        r.put("total_token_throughput", (in + out) / elapsed);
        if (!slo.isEmpty()) {
            long good = outcomes.stream().filter(slo::met).count();
            r.put("goodput_limits_ms", slo.limitsMs());
            r.put("request_goodput", good / elapsed);
            r.put("slo_attainment", slo.attainment(outcomes));
        }
        r.putAll(latencies(outcomes));
        if (mix != null && mix.entries().size() > 1) {
            r.put("classes", classes(outcomes, slo, mix));
        }
        r.put("output_throughput_per_s", ServePlot.throughputSeries(outcomes, run.startNanos(), elapsed));
        return r;
    }

    /** TTFT, TPOT, ITL and E2EL statistics of the completed requests among {@code outcomes}. */
    private Map<String, Object> latencies(List<ServeOutcome> outcomes) {
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        for (ServeOutcome o : outcomes) {
            if (o.ok()) {
                ttft.add(o.ttft());
                tpot.add(o.tpot());
                itl.addAll(o.itl());
                e2e.add(o.e2e());
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ttft", stats(ttft));
        r.put("tpot", stats(tpot));
        r.put("itl", stats(itl));
        r.put("e2el", stats(e2e));
        return r;
    }

    private List<Map<String, Object>> classes(List<ServeOutcome> outcomes, Slo slo, WorkloadMix mix) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (int c = 0; c < mix.entries().size(); c++) {
            int cls = c;
            List<ServeOutcome> mine = outcomes.stream().filter(o -> o.prompt().mixClass() == cls).toList();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mix", mix.entries().get(c).spec());
            m.put("requests", mine.size());
            m.put("completed", mine.stream().filter(ServeOutcome::ok).count());
            if (!slo.isEmpty()) {
                m.put("slo_attainment", slo.attainment(mine));
            }
            m.putAll(latencies(mine));
            list.add(m);
        }
        return list;
    }

    /** Mean, median, the chosen percentiles (and p99 always) and the maximum, in milliseconds, of values in seconds. */
    public Map<String, Object> stats(List<Double> seconds) {
        double[] v = Percentiles.sorted(seconds.stream().map(x -> x * 1000).toList());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mean_ms", Percentiles.mean(v));
        m.put("median_ms", Percentiles.of(v, 50));
        for (double p : percentiles) {
            m.put("p" + label(p) + "_ms", Percentiles.of(v, p));
        }
        // the sweep's table and plot read p99 whatever percentiles were asked for
        m.putIfAbsent("p99_ms", Percentiles.of(v, 99));
        m.put("max_ms", v.length == 0 ? Double.NaN : v[v.length - 1]);
        return m;
    }

    /** 99 → "99", 99.9 → "99.9": the percentile as the JSON keys name it. */
    public static String label(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }
}
