package io.tessera.planner.report;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Writes the catalogs ({@code tessera plan gpus}, {@code tessera plan models}). */
public final class CatalogWriter {

    private CatalogWriter() {
    }

    /** One line per accelerator; with {@code sources}, where each number comes from. */
    public static void accelerators(PrintWriter out, AcceleratorCatalog c, boolean sources) {
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
    }

    /** One line per model preset, by name: sizes, kind (dense, MoE, MoE with MLA) and source. */
    public static void models(PrintWriter out) {
        List<ModelCatalog.Preset> all = new ArrayList<>(ModelCatalog.presets().values());
        all.sort(Comparator.comparing(ModelCatalog.Preset::name));
        out.printf(Locale.ROOT, "%-15s %9s %9s %7s %6s %6s %8s %8s %-9s %s%n", "name", "params B", "active B", "layers",
                "heads", "kv", "hidden", "experts", "kind", "source");
        for (ModelCatalog.Preset p : all) {
            ModelSpec m = p.shape();
            String kind = m.isMla() ? "MoE+MLA" : m.isMoe() ? "MoE" : "dense";
            String experts = m.isMoe() ? m.expertsPerToken() + "/" + m.experts() : "-";
            out.printf(Locale.ROOT, "%-15s %9.2f %9.2f %7d %6d %6d %8d %8s %-9s %s%n", p.name(), m.totalParams() / 1e9,
                    m.activeParams() / 1e9, m.layers(), m.heads(), m.isMla() ? 1 : m.kvHeads(), m.hidden(), experts, kind,
                    p.source());
        }
    }
}
