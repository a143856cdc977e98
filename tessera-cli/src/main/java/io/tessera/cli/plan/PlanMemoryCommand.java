package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.report.MemoryReportWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan memory}: weights, KV cache and what fits, per device. */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Memory per device for a model, precision and layout: weights, KV cache per token, "
                + "activations, and with --gpu the KV capacity left and whether it fits.")
public final class PlanMemoryCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Option(names = {"-m", "--model"}, required = true, description = "preset name, parameter count (6b), or config.json / safetensors / GGUF path")
    String model;
    @Option(names = {"-p", "--precision"}, defaultValue = "bf16", description = "fp32, bf16, fp16, fp8, int8, int4 (default ${DEFAULT-VALUE})")
    String precision;
    @Option(names = "--kv-precision", description = "KV cache precision (default: 16-bit, fp32 for fp32 models)")
    String kvPrecision;
    @Option(names = "--tp", defaultValue = "1", description = "tensor-parallel degree")
    int tp;
    @Option(names = "--pp", defaultValue = "1", description = "pipeline stages")
    int pp;
    @Option(names = "--ep", defaultValue = "1", description = "expert parallelism: each MoE layer's experts spread over this many devices (1, or a multiple of --tp; above --tp, attention is replicated as --ep / --tp data-parallel groups)")
    int ep;
    @Option(names = {"-g", "--gpu"}, description = "accelerator, to check fit and KV capacity (tessera plan gpus)")
    String gpu;
    @Option(names = "--catalog", description = "an accelerators.json to use instead of the built-in one")
    Path catalog;
    @Option(names = "--seq-len", description = "tokens of one sequence for the fit check and concurrency (default min(4096, model context))")
    Integer seqLen;
    @Mixin
    StepLimitOptions stepLimits = new StepLimitOptions();
    @Option(names = "--json", description = "machine-readable output")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ModelSpec m = ModelCatalog.resolve(model);
        Precision p = Precision.parse(precision);
        Precision kv = kvPrecision == null ? p.defaultKvPrecision() : Precision.parse(kvPrecision);
        Accelerator a = gpu == null ? null : AcceleratorCatalog.open(catalog).get(gpu);
        int len = seqLen != null ? seqLen : Math.min(4096, m.maxContext());
        MemoryModel.Report r = MemoryModel.report(m, p, kv, new Layout(tp, pp, 1, ep), a, len,
                stepLimits.limits());
        return MemoryReportWriter.write(spec.commandLine().getOut(), r, json) || json ? 0 : 2;
    }
}
