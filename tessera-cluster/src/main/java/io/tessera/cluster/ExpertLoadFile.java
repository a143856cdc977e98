package io.tessera.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.shard.ExpertPlacement;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A measured expert load on disk, {@code {"expert_load": [[tokens of expert 0, ...] per layer]}}:
 * what {@code tessera bench throughput --expert-load-out} writes (the same field is in its
 * {@code --json}), and what {@code --ep-load} reads to place replicas of the hottest experts.
 */
public final class ExpertLoadFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ExpertLoadFile() {
    }

    public static void write(Path file, long[][] load) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("expert_load", load);
        Files.writeString(file, JSON.writeValueAsString(m));
    }

    /** Reads a load file, checking it against the model's layers and experts. */
    public static long[][] read(Path file, ModelConfig cfg) throws IOException {
        JsonNode j = JSON.readTree(file.toFile());
        JsonNode layers = j == null ? null : j.get("expert_load");
        if (layers == null || !layers.isArray()) {
            throw new IllegalArgumentException("expert load file " + file + ": no \"expert_load\" array");
        }
        if (layers.size() != cfg.layers()) {
            throw new IllegalArgumentException("expert load file " + file + ": " + layers.size() + " layers, the model "
                    + "has " + cfg.layers());
        }
        long[][] load = new long[cfg.layers()][];
        for (int l = 0; l < load.length; l++) {
            JsonNode row = layers.get(l);
            if (!row.isArray() || row.size() != cfg.moe().experts()) {
                throw new IllegalArgumentException("expert load file " + file + ": layer " + l + " is not an array of "
                        + cfg.moe().experts() + " counts");
            }
            load[l] = new long[row.size()];
            for (int e = 0; e < load[l].length; e++) {
                if (!row.get(e).isIntegralNumber() || !row.get(e).canConvertToLong() || row.get(e).asLong() < 0) {
                    throw new IllegalArgumentException("expert load file " + file + ": layer " + l + " expert " + e
                            + " is not a count");
                }
                load[l][e] = row.get(e).asLong();
            }
        }
        return load;
    }

    /**
     * The placement with {@code extraSlots} replica slots per rank for {@code load}, after printing
     * the imbalance (largest over mean tokens per rank, mean and worst over the sparse layers) of
     * the contiguous placement and of the new one.
     */
    public static ExpertPlacement place(long[][] load, ModelConfig cfg, int ranks, int extraSlots, PrintStream report) {
        int experts = cfg.moe().experts();
        ExpertPlacement before = ExpertPlacement.contiguous(cfg.layers(), experts, ranks);
        ExpertPlacement after = ExpertPlacement.balanced(load, experts, ranks, extraSlots);
        double[] b = imbalance(before, load);
        double[] a = imbalance(after, load);
        report.printf(Locale.ROOT, "expert placement over %d ranks, %d replica slot(s) per rank: imbalance (max/mean "
                + "tokens per rank) mean %.3f, worst %.3f before; mean %.3f, worst %.3f after%n", ranks, extraSlots,
                b[0], b[1], a[0], a[1]);
        return after;
    }

    /** {@code after − before}, element by element (a null {@code before} counts as zeros); null if {@code after} is. */
    public static long[][] difference(long[][] after, long[][] before) {
        if (after == null) {
            return null;
        }
        long[][] d = new long[after.length][];
        for (int l = 0; l < d.length; l++) {
            d[l] = after[l].clone();
            for (int e = 0; before != null && e < d[l].length; e++) {
                d[l][e] -= before[l][e];
            }
        }
        return d;
    }

    /** Mean and worst over the layers with load of the placement's max/mean tokens per rank. */
    public static double[] imbalance(ExpertPlacement p, long[][] load) {
        double sum = 0;
        double worst = 0;
        int n = 0;
        for (int l = 0; l < load.length; l++) {
            double x = p.imbalance(l, load[l]);
            if (x > 0) {
                sum += x;
                worst = Math.max(worst, x);
                n++;
            }
        }
        return new double[] {n == 0 ? 0 : sum / n, worst};
    }
}
