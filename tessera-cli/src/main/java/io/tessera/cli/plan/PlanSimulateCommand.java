package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.report.SimulationReportWriter;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Workload;
import java.nio.file.Path;
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
    @Option(names = "--ep", defaultValue = "1", description = "expert parallelism: each MoE layer's experts spread over this many devices (1, or a multiple of --tp; above --tp, attention is replicated as --ep / --tp data-parallel groups)")
    int ep;
    @Option(names = "--pd", description = "disaggregate: P prefill and D decode instances, e.g. 1:2")
    String pd;
    @Option(names = "--decode-tp", description = "TP of decode instances (default --tp)")
    Integer decodeTp;
    @Option(names = "--decode-pp", description = "PP of decode instances (default --pp)")
    Integer decodePp;
    @Mixin
    SloOptions slo = new SloOptions();
    @Mixin
    StepLimitOptions stepLimits = new StepLimitOptions();
    @Mixin
    WorkloadOptions load = new WorkloadOptions();
    @Option(names = "--json", description = "machine-readable output")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ModelSpec m = ModelCatalog.resolve(model);
        Accelerator a = AcceleratorCatalog.open(catalog).get(gpu);
        Precision p = Precision.parse(precision);
        MemoryModel.Limits limits = stepLimits.limits();
        Deployment d;
        if (pd != null) {
            int[] ratio = Deployment.parseRatio("--pd", pd);
            d = Deployment.disaggregated(m, p, a, new Layout(tp, pp, 1, ep), ratio[0],
                    new Layout(decodeTp == null ? tp : decodeTp, decodePp == null ? pp : decodePp, 1, ep), ratio[1], limits);
        } else {
            d = Deployment.colocated(m, p, a, new Layout(tp, pp, dp, ep), dp, limits);
        }
        Workload w = load.params().build(false);
        d.requireFits(w);
        double ttft = slo.ttftSeconds();
        double tpot = slo.tpotSeconds();
        long t0 = System.nanoTime();
        SimResult r = d.simulate(w, ttft, tpot);
        SimulationReportWriter.write(spec.commandLine().getOut(), d, w, ttft, tpot, r, (System.nanoTime() - t0) / 1_000_000, json);
        return 0;
    }
}
