package io.tessera.cli.plan;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan gpus} and {@code tessera plan models}: the catalogs. */
public final class PlanCatalogCommands {

    private PlanCatalogCommands() {
    }

    @Command(name = "gpus", mixinStandardHelpOptions = true, description = "The accelerator catalog, with sources (--sources).")
    public static final class Gpus implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--catalog", description = "an accelerators.json to list instead of the built-in one")
        Path catalog;
        @Option(names = "--sources", description = "print where each number comes from")
        boolean sources;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            AcceleratorCatalog c = AcceleratorCatalog.open(catalog);
            out.printf(Locale.ROOT, "%-12s %7s %8s %8s %8s %8s %-22s %8s %8s %6s%n", "name", "mem GB", "GB/s", "bf16 TF",
                    "fp8 TF", "int8 TOP", "intra-node link", "GB/s/dir", "net GB/s", "$/hour");
            for (Accelerator a : c.all()) {
                out.printf(Locale.ROOT, "%-12s %7.0f %8.0f %8.4g %8.4g %8.4g %-22s %8.0f %8.4g %6s%n", a.name(), a.memoryGb(),
                        a.memoryBandwidthGbps(), a.bf16Tflops(), a.fp8Tflops(), a.int8Tops(), a.intraNodeLink(),
                        a.intraNodeGbps(), a.interNodeGbps(), a.hasPrice() ? String.format(Locale.ROOT, "%.2f", a.pricePerHour()) : "-");
                if (sources) {
                    a.sources().forEach((k, v) -> out.println("    " + k + ": " + v));
                }
            }
            return 0;
        }
    }

    @Command(name = "models", mixinStandardHelpOptions = true, description = "The model presets, with their sources.")
    public static final class Models implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            List<ModelCatalog.Preset> all = new ArrayList<>(ModelCatalog.presets().values());
            all.sort((a, b) -> a.name().compareTo(b.name()));
            out.printf(Locale.ROOT, "%-15s %9s %9s %7s %6s %6s %8s %-9s %s%n", "name", "params B", "active B", "layers",
                    "heads", "kv", "hidden", "kind", "source");
            for (ModelCatalog.Preset p : all) {
                ModelSpec m = p.shape();
                String kind = m.isMla() ? "MoE+MLA" : m.isMoe() ? "MoE" : "dense";
                out.printf(Locale.ROOT, "%-15s %9.2f %9.2f %7d %6d %6d %8d %-9s %s%n", p.name(), m.totalParams() / 1e9,
                        m.activeParams() / 1e9, m.layers(), m.heads(), m.isMla() ? 1 : m.kvHeads(), m.hidden(), kind, p.source());
            }
            return 0;
        }
    }
}
