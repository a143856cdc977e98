package io.tessera.benchmarks.serve;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The text report of a serving benchmark: vLLM's result table per load, and a sweep's table. */
public final class ServeReport {

    private final PrintStream out;
    private final List<Double> percentiles;

    public ServeReport(PrintStream out, List<Double> percentiles) {
        this.out = out;
        this.percentiles = percentiles;
    }

    /** The table of one load's result (as {@link ServeSummary} builds it). */
    @SuppressWarnings("unchecked")
    public void print(Map<String, Object> r) {
        out.println("============ Serving Benchmark Result ============");
        line("Successful requests:", r.get("completed"));
        line("Failed requests:", r.get("failed"));
        line("Benchmark duration (s):", r.get("duration_s"));
        line("Total input tokens:", r.get("total_input_tokens"));
        line("Total generated tokens:", r.get("total_output_tokens"));
        line("Request throughput (req/s):", r.get("request_throughput"));
        if (r.containsKey("request_goodput")) {
            line("Request goodput (req/s):", r.get("request_goodput"));
            line("SLO attainment (%):", 100 * (double) r.get("slo_attainment"));
        }
        line("Output token throughput (tok/s):", r.get("output_throughput"));
        line("Total token throughput (tok/s):", r.get("total_token_throughput"));
        for (String[] sec : new String[][] {{"ttft", "Time to First Token", "TTFT"},
            {"tpot", "Time per Output Token (excl. 1st token)", "TPOT"}, {"itl", "Inter-token Latency", "ITL"},
            {"e2el", "End-to-end Latency", "E2EL"}}) {
            String title = " " + sec[1] + " ";
            int pad = Math.max(0, 50 - title.length());
            out.println("-".repeat(pad / 2) + title + "-".repeat(pad - pad / 2));
            Map<String, Object> s = (Map<String, Object>) r.get(sec[0]);
            line("Mean " + sec[2] + " (ms):", s.get("mean_ms"));
            line("Median " + sec[2] + " (ms):", s.get("median_ms"));
            for (double p : percentiles) {
                if (p != 50) {
                    String label = ServeSummary.label(p);
                    line("P" + label + " " + sec[2] + " (ms):", s.get("p" + label + "_ms"));
                }
            }
        }
        List<Map<String, Object>> classes = (List<Map<String, Object>>) r.get("classes");
        if (classes != null) {
            out.println("------------------ Per mix class -----------------");
            for (Map<String, Object> c : classes) {
                Map<String, Object> ttft = (Map<String, Object>) c.get("ttft");
                Map<String, Object> tpot = (Map<String, Object>) c.get("tpot");
                out.printf(Locale.ROOT, "%-24s %4s req, TTFT p50 %.1f ms, TPOT p50 %.1f ms%s%n", c.get("mix"),
                        c.get("requests"), ttft.get("median_ms"), tpot.get("median_ms"),
                        c.containsKey("slo_attainment")
                                ? String.format(Locale.ROOT, ", SLO %.1f%%", 100 * (double) c.get("slo_attainment"))
                                : "");
            }
        }
        Map<String, Integer> errors = (Map<String, Integer>) r.get("errors");
        errors.forEach((e, n) -> out.println("error (" + n + "×): " + e));
        out.println("==================================================");
    }

    /** The sweep's table: one row per offered rate, then the goodput when SLOs were given. */
    @SuppressWarnings("unchecked")
    public void printSweep(List<Map<String, Object>> runs, Goodput goodput, Slo slo) {
        out.println("================ Request-rate sweep ==============");
        out.printf(Locale.ROOT, "%8s %9s %12s %12s %12s %12s%n", "rate", "req/s", "TTFT p99 ms", "TPOT p50 ms",
                "TPOT p99 ms", "SLO met %");
        for (Map<String, Object> r : runs) {
            Map<String, Object> ttft = (Map<String, Object>) r.get("ttft");
            Map<String, Object> tpot = (Map<String, Object>) r.get("tpot");
            Object attainment = r.get("slo_attainment");
            out.printf(Locale.ROOT, "%8s %9.2f %12.1f %12.1f %12.1f %12s%n", r.get("request_rate"),
                    r.get("request_throughput"), ttft.get("p99_ms"), tpot.get("median_ms"), tpot.get("p99_ms"),
                    attainment == null ? "-" : String.format(Locale.ROOT, "%.1f", 100 * (double) attainment));
        }
        if (goodput != null) {
            out.printf(Locale.ROOT, "Goodput (req/s): %s — the highest rate with ≥ %.0f%% of requests within %s%s%n",
                    Goodput.json(goodput.rate()), 100 * goodput.target(), slo.limitsMs(),
                    Double.isNaN(goodput.firstFailingRate()) ? " (every rate of the sweep passed)"
                            : "; " + Goodput.json(goodput.firstFailingRate()) + " failed");
        }
        out.println("==================================================");
    }

    private void line(String label, Object v) {
        String s = v instanceof Double d ? String.format(Locale.ROOT, "%.2f", d) : String.valueOf(v);
        out.printf(Locale.ROOT, "%-40s %9s%n", label, s);
    }
}
