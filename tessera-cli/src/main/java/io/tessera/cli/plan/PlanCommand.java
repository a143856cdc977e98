package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.report.SearchReportWriter;
import io.tessera.planner.search.Mode;
import io.tessera.planner.search.Search;
import io.tessera.planner.sim.WorkloadParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tessera plan}: with {@code --model}, searches layouts (precision x TP x PP x DP, EP for
 * MoE, colocated and prefill/decode disaggregated) and ranks them by goodput per device; the
 * subcommands answer the simpler questions.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Deployment planner: which precision, layout and how many accelerators a model needs, "
                + "and the TTFT, TPOT and throughput users will see.",
        subcommands = {PlanMemoryCommand.class, PlanSimulateCommand.class, PlanCatalogCommands.Gpus.class,
                PlanCatalogCommands.Models.class, PlanCalibrateCommand.class, PlanValidateCommand.class})
public final class PlanCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Option(names = {"-m", "--model"}, description = "preset, parameter count (6b) or model file")
    String model;
    @Option(names = {"-g", "--gpu"}, defaultValue = "h100", split = ",", description = "accelerator (default ${DEFAULT-VALUE}; see `tessera plan gpus`); several, comma-separated, with --rank cost")
    List<String> gpus;
    @Option(names = "--rank", defaultValue = "goodput", description = "goodput (per device) or cost (dollars per million requests, or per hour at a target --rate; needs prices in the catalog) (default ${DEFAULT-VALUE})")
    String rank;
    @Option(names = "--catalog", description = "an accelerators.json to use instead of the built-in one")
    Path catalog;
    @Option(names = "--max-gpus", defaultValue = "8", description = "devices available (default ${DEFAULT-VALUE}); expert parallelism may span nodes, tensor parallelism stays within one")
    int maxGpus;
    @Mixin
    SloOptions slo = new SloOptions();
    @Option(names = "--attainment", defaultValue = "0.9", description = "fraction of requests that must meet both SLOs (default ${DEFAULT-VALUE})")
    double attainment;
    @Option(names = "--precisions", split = ",", defaultValue = "bf16,fp8,int8,int4", description = "precisions to try (default ${DEFAULT-VALUE})")
    List<String> precisions;
    @Option(names = "--mode", defaultValue = "both", description = "colocated, disaggregated or both (default ${DEFAULT-VALUE})")
    String mode;
    @Option(names = "--top", defaultValue = "5", description = "layouts to rank and verify (default ${DEFAULT-VALUE})")
    int top;
    @Option(names = "--losers", defaultValue = "12", description = "losing layouts to list with their reasons (default ${DEFAULT-VALUE})")
    int losers;
    @Mixin
    StepLimitOptions stepLimits = new StepLimitOptions();
    @Mixin
    WorkloadOptions load = new WorkloadOptions();
    @Option(names = "--json", description = "machine-readable output")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (model == null) {
            new CommandLine(this).usage(spec.commandLine().getErr());
            return 2;
        }
        ModelSpec m = ModelCatalog.resolve(model);
        boolean byCost = rank.equalsIgnoreCase("cost");
        if (!byCost && !rank.equalsIgnoreCase("goodput")) {
            throw new IllegalArgumentException("--rank must be goodput or cost");
        }
        if (gpus.size() > 1 && !byCost) {
            throw new IllegalArgumentException("several --gpu values need --rank cost: goodput per device does not compare across accelerators");
        }
        AcceleratorCatalog catalogued = AcceleratorCatalog.open(catalog);
        List<Accelerator> accelerators = gpus.stream().map(g -> byCost ? catalogued.priced(g) : catalogued.get(g)).toList();
        List<Precision> ps = precisions.stream().map(Precision::parse).toList();
        Mode md = Mode.parse(mode);
        WorkloadParams w = load.params();
        List<Search.Result> results = new ArrayList<>();
        for (Accelerator a : accelerators) {
            Search.Spec s = new Search.Spec(m, a, maxGpus,
                    slo.ttftSeconds(), slo.tpotSeconds(), w.build(true), w.targetRate(),
                    ps, md.colocated(), md.disaggregated(), attainment, stepLimits.limits(), top,
                    w.requests());
            results.add(Search.run(s));
        }
        if (byCost) {
            return SearchReportWriter.writeByCost(spec.commandLine().getOut(), results, top, json) ? 0 : 3;
        }
        Search.Result r = results.getFirst();
        SearchReportWriter.write(spec.commandLine().getOut(), r, losers, json);
        return r.ranked().isEmpty() ? 3 : 0;
    }
}
