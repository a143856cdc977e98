package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Workload;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan simulate}: one deployment under one workload. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Simulate one deployment (colocated, or disaggregated with --pd P:D) under a workload: "
                + "TTFT, TPOT and end-to-end percentiles, throughput, goodput under the SLOs.")
public final class PlanSimulateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Option(names = {"-m", "--model"}, required = true, description = "preset, parameter count or model file")
    String model;
    @Option(names = {"-g", "--gpu"}, defaultValue = "h100", description = "accelerator (default ${DEFAULT-VALUE})")
    String gpu;
    @Option(names = "--catalog", description = "an accelerators.json to use instead of the built-in one")
    Path catalog;
    @Option(names = {"-p", "--precision"}, defaultValue = "bf16", description = "weights precision (default ${DEFAULT-VALUE})")
    String precision;
    @Option(names = "--tp", defaultValue = "1", description = "tensor-parallel degree")
    int tp;
    @Option(names = "--pp", defaultValue = "1", description = "pipeline stages")
    int pp;
    @Option(names = "--dp", defaultValue = "1", description = "colocated replicas")
    int dp;
    @Option(names = "--ep", defaultValue = "1", description = "expert parallelism (1, or equal to --tp)")
    int ep;
    @Option(names = "--pd", description = "disaggregate: P prefill and D decode instances, e.g. 1:2")
    String pd;
    @Option(names = "--decode-tp", description = "TP of decode instances (default --tp)")
    Integer decodeTp;
    @Option(names = "--decode-pp", description = "PP of decode instances (default --pp)")
    Integer decodePp;
    @Option(names = "--ttft-slo", defaultValue = "1s", description = "time-to-first-token target (default ${DEFAULT-VALUE})")
    String ttftSlo;
    @Option(names = "--tpot-slo", defaultValue = "50ms", description = "time-per-output-token target (default ${DEFAULT-VALUE})")
    String tpotSlo;
    @Option(names = "--max-batched-tokens", defaultValue = "2048", description = "tokens per step (default ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--max-seqs", defaultValue = "256", description = "sequences per step (default ${DEFAULT-VALUE})")
    int maxSeqs;
    @Mixin
    PlanSupport.WorkloadOptions load = new PlanSupport.WorkloadOptions();
    @Option(names = "--json", description = "machine-readable output")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ModelSpec m = ModelCatalog.resolve(model);
        Accelerator a = PlanSupport.accelerator(gpu, catalog);
        Precision p = Precision.parse(precision);
        MemoryModel.Limits limits = new MemoryModel.Limits(maxTokens, maxSeqs);
        Deployment d;
        if (pd != null) {
            String[] f = pd.split(":");
            if (f.length != 2) {
                throw new IllegalArgumentException("--pd wants P:D, e.g. 1:2");
            }
            d = Deployment.disaggregated(m, p, a, new Layout(tp, pp, 1, ep), Integer.parseInt(f[0]),
                    new Layout(decodeTp == null ? tp : decodeTp, decodePp == null ? pp : decodePp, 1, ep), Integer.parseInt(f[1]), limits);
        } else {
            d = Deployment.colocated(m, p, a, new Layout(tp, pp, dp, ep), dp, limits);
        }
        Workload w = load.workload(false);
        for (Layout l : d.isDisaggregated() ? new Layout[] {d.layout(), d.decodeLayout()} : new Layout[] {d.layout()}) {
            MemoryModel.Report r = d.memory(l, Math.min(w.maxSequence(), m.maxContext()));
            if (!r.fits()) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "%s %s does not fit on %s: %.2f GB short per device",
                        m.name(), l.label(), a.name(), r.shortfallBytes() / 1e9));
            }
        }
        double ttft = PlanSupport.seconds(ttftSlo);
        double tpot = PlanSupport.seconds(tpotSlo);
        long t0 = System.nanoTime();
        SimResult r = d.simulate(w, ttft, tpot);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("deployment", d.label());
            j.put("devices", d.devices());
            j.put("workload", w.describe());
            j.put("ttft_slo_s", ttft);
            j.put("tpot_slo_s", tpot);
            j.putAll(PlanSupport.latency(r));
            out.println(PlanSupport.json(j));
            return 0;
        }
        out.printf(Locale.ROOT, "%s on %d x %s, %s%n", m.name(), d.devices(), a.name(), d.label());
        out.printf(Locale.ROOT, "workload: %s%n", w.describe());
        out.printf(Locale.ROOT, "%d of %d requests completed (%d rejected), %d steps, %d preemptions, %.1f s simulated in %d ms%n",
                r.completed(), r.requests(), r.rejected(), r.steps(), r.preemptions(), r.makespan(), ms);
        out.printf(Locale.ROOT, "%-8s %9s %9s %9s %9s%n", "ms", "mean", "p50", "p90", "p99");
        row(out, "TTFT", r, r.ttft());
        row(out, "TPOT", r, r.tpot());
        row(out, "E2E", r, r.e2e());
        out.printf(Locale.ROOT, "throughput %.1f tokens/s, %.3f requests/s; SLO attainment %.1f%% (TTFT <= %s, TPOT <= %s); goodput %.3f requests/s%n",
                r.throughput(), r.requestThroughput(), 100 * r.attainment(), ttftSlo, tpotSlo, r.goodput());
        return 0;
    }

    private static void row(PrintWriter out, String name, SimResult r, double[] xs) {
        out.printf(Locale.ROOT, "%-8s %9s %9s %9s %9s%n", name, PlanSupport.ms(SimResult.mean(xs)), PlanSupport.ms(r.percentile(xs, 50)),
                PlanSupport.ms(r.percentile(xs, 90)), PlanSupport.ms(r.percentile(xs, 99)));
    }
}
