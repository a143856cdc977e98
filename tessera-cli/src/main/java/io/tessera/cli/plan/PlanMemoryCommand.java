package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
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
    @Option(names = "--ep", defaultValue = "1", description = "expert parallelism (1, or equal to --tp)")
    int ep;
    @Option(names = {"-g", "--gpu"}, description = "accelerator, to check fit and KV capacity (tessera plan gpus)")
    String gpu;
    @Option(names = "--catalog", description = "an accelerators.json to use instead of the built-in one")
    Path catalog;
    @Option(names = "--seq-len", description = "tokens of one sequence for the fit check and concurrency (default min(4096, model context))")
    Integer seqLen;
    @Option(names = "--max-batched-tokens", defaultValue = "2048", description = "tokens per step, sizes activations")
    int maxTokens;
    @Option(names = "--max-seqs", defaultValue = "256", description = "sequences per step, sizes the logits buffer")
    int maxSeqs;
    @Option(names = "--json", description = "machine-readable output")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ModelSpec m = ModelCatalog.resolve(model);
        Precision p = Precision.parse(precision);
        Precision kv = kvPrecision == null ? p.defaultKvPrecision() : Precision.parse(kvPrecision);
        Accelerator a = gpu == null ? null : PlanSupport.accelerator(gpu, catalog);
        int len = seqLen != null ? seqLen : Math.min(4096, m.maxContext());
        MemoryModel.Report r = MemoryModel.report(m, p, kv, new Layout(tp, pp, 1, ep), a, len,
                new MemoryModel.Limits(maxTokens, maxSeqs));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(PlanSupport.json(PlanSupport.memoryJson(r)));
            return 0;
        }
        out.printf(Locale.ROOT, "%s: %.2fB parameters (%.2fB active), %s weights, %s KV cache%n", m.name(),
                m.totalParams() / 1e9, m.activeParams() / 1e9, p.label(), kv.label());
        out.printf(Locale.ROOT, "weights            %10s GB  (%.0f params x %.1f bytes)%n", PlanSupport.gb(r.weightsBytes()),
                (double) m.totalParams(), p.bytesPerParam());
        out.printf(Locale.ROOT, "KV cache per token %10.0f bytes (%s)%n", r.kvBytesPerToken(), m.isMla()
                ? m.layers() + " layers x (" + m.kvLoraRank() + " latent + " + m.qkRopeHeadDim() + " rope) x " + kv.bytesPerParam()
                : "2 x " + m.layers() + " layers x " + m.kvHeads() + " kv heads x " + m.headDim() + " x " + kv.bytesPerParam());
        out.printf(Locale.ROOT, "layout             TP %d x PP %d%s = %d devices%n", tp, pp, ep > 1 ? " (EP " + ep + ")" : "", tp * pp);
        out.println();
        out.printf(Locale.ROOT, "%-6s %-9s %12s %14s %12s%s%n", "stage", "layers", "weights GB", "KV B/token", "activ. GB",
                a == null ? "" : String.format(Locale.ROOT, " %10s %12s %11s", "usable GB", "KV room GB", "KV tokens"));
        for (MemoryModel.Device d : r.devices()) {
            out.printf(Locale.ROOT, "%-6d %-9s %12s %14.0f %12s%s%n", d.stage(), d.firstLayer() + "-" + (d.lastLayerExclusive() - 1),
                    PlanSupport.gb(d.weightsBytes()), d.kvBytesPerToken(), PlanSupport.gb(d.activationBytes()),
                    a == null ? "" : String.format(Locale.ROOT, " %10s %12s %11d", PlanSupport.gb(d.usableBytes()),
                            PlanSupport.gb(Math.max(0, d.kvCapacityBytes())), d.kvTokens()));
        }
        if (a != null) {
            out.println();
            if (r.fits()) {
                out.printf(Locale.ROOT, "fits on %s (%.0f GB, %.0f%% usable): %d KV tokens per replica, %d concurrent %d-token sequences%n",
                        a.name(), a.memoryGb(), 100 * a.efficiency().memoryUtilization(), r.kvTokens(), r.concurrentSequences(), len);
            } else {
                out.printf(Locale.ROOT, "does NOT fit on %s: %.2f GB short per device (weights + activations + one %d-token sequence > %.2f GB usable)%n",
                        a.name(), r.shortfallBytes() / 1e9, len, r.worst().usableBytes() / 1e9);
                return 2;
            }
        }
        return 0;
    }
}
