package io.tessera.planner.sim;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A workload as the plan commands describe it: a trace file, or request lengths (N, uniform:A:B,
 * normal:MEAN:SD, exp:MEAN) with Poisson arrivals at {@code rate} or a closed loop of
 * {@code concurrency} clients.
 *
 * @param trace trace file (JSON lines or CSV), or null; it sets lengths and arrivals
 * @param rate Poisson arrival rate in requests/s; 0 for none
 * @param concurrency closed-loop clients; 0 for open-loop arrivals
 */
public record WorkloadParams(Path trace, double rate, int concurrency, int requests, String inputLen, String outputLen,
                             long seed) {

    /** The target rate (0 when none was given, or when a trace sets the arrivals). */
    public double targetRate() {
        return trace != null ? 0 : rate;
    }

    /**
     * The workload. Without a trace, a rate or clients, {@code allowNoLoad} gives Poisson arrivals
     * at 1 request/s (the search sets its own rates and uses only the lengths); otherwise it is refused.
     */
    public Workload build(boolean allowNoLoad) throws IOException {
        if (trace != null) {
            return Workload.trace(trace);
        }
        LengthDist p = LengthDist.parse(inputLen);
        LengthDist o = LengthDist.parse(outputLen);
        if (concurrency > 0) {
            return Workload.closed(concurrency, requests, p, o, seed);
        }
        if (rate <= 0 && !allowNoLoad) {
            throw new IllegalArgumentException("give --rate, --concurrency or --trace");
        }
        return Workload.poisson(rate > 0 ? rate : 1, requests, p, o, seed);
    }
}
