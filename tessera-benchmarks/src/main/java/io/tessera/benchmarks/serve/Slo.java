package io.tessera.benchmarks.serve;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Service-level objectives of a request, in milliseconds: time to first token ({@code ttft}), time
 * per output token after the first ({@code tpot}) and end-to-end latency ({@code e2el}). A request
 * meets them when it completed and is within every limit given; one with a single output token has
 * no TPOT to miss.
 */
public record Slo(Map<String, Double> limitsMs) {

    public static final List<String> METRICS = List.of("ttft", "tpot", "e2el");

    public Slo {
        limitsMs = Collections.unmodifiableMap(new LinkedHashMap<>(limitsMs));
    }

    /** Parses {@code ttft:500}, {@code tpot:50}, {@code e2el:10000} items (milliseconds). */
    public static Slo parse(List<String> items) {
        Map<String, Double> limits = new LinkedHashMap<>();
        for (String item : items == null ? List.<String>of() : items) {
            String[] kv = item.split(":", -1);
            if (kv.length != 2 || !METRICS.contains(kv[0].strip())) {
                throw new IllegalArgumentException("--goodput takes ttft:MS, tpot:MS or e2el:MS, got '" + item + "'");
            }
            double ms;
            try {
                ms = Double.parseDouble(kv[1].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--goodput: the limit of " + kv[0] + " is not a number: '"
                        + kv[1] + "'");
            }
            if (!(ms > 0) || Double.isInfinite(ms)) {
                throw new IllegalArgumentException("--goodput: the limit of " + kv[0] + " must be a positive number "
                        + "of milliseconds, got " + kv[1]);
            }
            if (limits.put(kv[0].strip(), ms) != null) {
                throw new IllegalArgumentException("--goodput names " + kv[0] + " twice");
            }
        }
        return new Slo(limits);
    }

    public boolean isEmpty() {
        return limitsMs.isEmpty();
    }

    /** Whether {@code o} completed within every limit. */
    public boolean met(ServeOutcome o) {
        if (!o.ok()) {
            return false;
        }
        double tpot = o.tpot();
        return within("ttft", o.ttft()) && (Double.isNaN(tpot) || within("tpot", tpot)) && within("e2el", o.e2e());
    }

    private boolean within(String metric, double seconds) {
        Double limit = limitsMs.get(metric);
        return limit == null || seconds * 1000 <= limit;
    }

    /** The fraction of all requests sent (failed ones included) that met the objectives; NaN for none. */
    public double attainment(List<ServeOutcome> outcomes) {
        if (outcomes.isEmpty()) {
            return Double.NaN;
        }
        long good = outcomes.stream().filter(this::met).count();
        return (double) good / outcomes.size();
    }
}
