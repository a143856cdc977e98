package io.tessera.planner.sim;

import java.util.Arrays;

/**
 * What a simulation measured. Latencies in seconds; TPOT is (end-to-end - TTFT) / (output - 1)
 * over requests with more than one output token.
 */
public record SimResult(int requests, int completed, int rejected, long preemptions, long steps, double makespan,
                        double[] ttft, double[] tpot, double[] e2e, long outputTokens, long promptTokens,
                        int sloMet, double ttftSlo, double tpotSlo) {

    public double percentile(double[] xs, double q) {
        if (xs.length == 0) {
            return Double.NaN;
        }
        double[] s = xs.clone();
        Arrays.sort(s);
        int idx = (int) Math.ceil(q / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, idx))];
    }

    public static double mean(double[] xs) {
        return xs.length == 0 ? Double.NaN : Arrays.stream(xs).average().orElse(Double.NaN);
    }

    /** Output tokens per second over the run. */
    public double throughput() {
        return makespan > 0 ? outputTokens / makespan : 0;
    }

    public double requestThroughput() {
        return makespan > 0 ? completed / makespan : 0;
    }

    /** Fraction of offered requests that finished within both SLOs. */
    public double attainment() {
        return requests == 0 ? 0 : (double) sloMet / requests;
    }

    /** Requests per second that met both SLOs. */
    public double goodput() {
        return makespan > 0 ? sloMet / makespan : 0;
    }
}
