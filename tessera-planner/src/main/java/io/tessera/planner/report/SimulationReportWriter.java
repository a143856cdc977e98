package io.tessera.planner.report;

import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Workload;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Writes one simulated deployment's latencies, throughput and goodput ({@code tessera plan simulate}). */
public final class SimulationReportWriter {

    private SimulationReportWriter() {
    }

    /** The simulation of {@code d} under {@code w} with the SLOs, which took {@code millis} to run. */
    public static void write(PrintWriter out, Deployment d, Workload w, double ttftSlo, double tpotSlo, SimResult r,
                             long millis, boolean json) {
        if (json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("deployment", d.label());
            j.put("devices", d.devices());
            j.put("workload", w.describe());
            j.put("ttft_slo_s", ttftSlo);
            j.put("tpot_slo_s", tpotSlo);
            j.putAll(PlanJson.latency(r));
            out.println(PlanJson.write(j));
            return;
        }
        out.printf(Locale.ROOT, "%s on %d x %s, %s%n", d.model().name(), d.devices(), d.accelerator().name(), d.label());
        out.printf(Locale.ROOT, "workload: %s%n", w.describe());
        out.printf(Locale.ROOT, "%d of %d requests completed (%d rejected), %d steps, %d preemptions, %.1f s simulated in %d ms%n",
                r.completed(), r.requests(), r.rejected(), r.steps(), r.preemptions(), r.makespan(), millis);
        out.printf(Locale.ROOT, "%-8s %9s %9s %9s %9s%n", "ms", "mean", "p50", "p90", "p99");
        row(out, "TTFT", r, r.ttft());
        row(out, "TPOT", r, r.tpot());
        row(out, "E2E", r, r.e2e());
        out.printf(Locale.ROOT, "throughput %.1f tokens/s, %.3f requests/s; SLO attainment %.1f%% (TTFT <= %s ms, TPOT <= %s ms); goodput %.3f requests/s%n",
                r.throughput(), r.requestThroughput(), 100 * r.attainment(), Units.ms(ttftSlo), Units.ms(tpotSlo), r.goodput());
    }

    private static void row(PrintWriter out, String name, SimResult r, double[] xs) {
        out.printf(Locale.ROOT, "%-8s %9s %9s %9s %9s%n", name, Units.ms(SimResult.mean(xs)), Units.ms(r.percentile(xs, 50)),
                Units.ms(r.percentile(xs, 90)), Units.ms(r.percentile(xs, 99)));
    }
}
