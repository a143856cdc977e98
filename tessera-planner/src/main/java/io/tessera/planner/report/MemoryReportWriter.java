package io.tessera.planner.report;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.model.ModelSpec;
import java.io.PrintWriter;
import java.util.Locale;

/** Writes a memory report ({@code tessera plan memory}): the model, one line per stage, and the fit. */
public final class MemoryReportWriter {

    private MemoryReportWriter() {
    }

    /** Writes the report as a table or JSON; returns whether it fits (true when no accelerator was given). */
    public static boolean write(PrintWriter out, MemoryModel.Report r, boolean json) {
        if (json) {
            out.println(PlanJson.write(PlanJson.memory(r)));
            return r.accelerator() == null || r.fits();
        }
        ModelSpec m = r.model();
        Layout l = r.layout();
        Accelerator a = r.accelerator();
        double kvBytes = r.kvPrecision().bytesPerParam();
        out.printf(Locale.ROOT, "%s: %.2fB parameters (%.2fB active), %s weights, %s KV cache%n", m.name(),
                m.totalParams() / 1e9, m.activeParams() / 1e9, r.precision().label(), r.kvPrecision().label());
        out.printf(Locale.ROOT, "weights            %10s GB  (%.0f params x %.1f bytes)%n", Units.gb(r.weightsBytes()),
                (double) m.totalParams(), r.precision().bytesPerParam());
        out.printf(Locale.ROOT, "KV cache per token %10.0f bytes (%s)%n", r.kvBytesPerToken(), m.isMla()
                ? m.layers() + " layers x (" + m.kvLoraRank() + " latent + " + m.qkRopeHeadDim() + " rope) x " + kvBytes
                : "2 x " + m.layers() + " layers x " + m.kvHeads() + " kv heads x " + m.headDim() + " x " + kvBytes);
        out.printf(Locale.ROOT, "layout             %s = %d devices%n", layoutLine(l), l.devicesPerReplica());
        boolean moe = m.isMoe() && m.paramOverride() <= 0;
        if (moe) {
            out.printf(Locale.ROOT, "experts            %d routed per MoE layer (%d per token)%s, %s%n", m.experts(),
                    m.expertsPerToken(), m.sharedExperts() > 0 ? " + " + m.sharedExperts() + " shared" : "",
                    l.ep() > 1 ? "whole on each device: " + MemoryModel.routedExpertsPerDevice(m, l) + " per device"
                            : l.tp() > 1 ? "each split over the " + l.tp() + " TP ranks" : "all on the device");
        }
        out.println();
        out.printf(Locale.ROOT, "%-6s %-9s %12s%s %14s %12s%s%n", "stage", "layers", "weights GB",
                moe ? String.format(Locale.ROOT, " %11s", "experts GB") : "", "KV B/token", "activ. GB",
                a == null ? "" : String.format(Locale.ROOT, " %10s %12s %11s", "usable GB", "KV room GB", "KV tokens"));
        for (MemoryModel.Device d : r.devices()) {
            out.printf(Locale.ROOT, "%-6d %-9s %12s%s %14.0f %12s%s%n", d.stage(), d.firstLayer() + "-" + (d.lastLayerExclusive() - 1),
                    Units.gb(d.weightsBytes()), moe ? String.format(Locale.ROOT, " %11s", Units.gb(d.expertWeightsBytes())) : "",
                    d.kvBytesPerToken(), Units.gb(d.activationBytes()),
                    a == null ? "" : String.format(Locale.ROOT, " %10s %12s %11d", Units.gb(d.usableBytes()),
                            Units.gb(Math.max(0, d.kvCapacityBytes())), d.kvTokens()));
        }
        if (a == null) {
            return true;
        }
        out.println();
        if (r.fits()) {
            out.printf(Locale.ROOT, "fits on %s (%.0f GB, %.0f%% usable): %d KV tokens per replica, %d concurrent %d-token sequences%n",
                    a.name(), a.memoryGb(), 100 * a.efficiency().memoryUtilization(), r.kvTokens(), r.concurrentSequences(),
                    r.seqLen());
            return true;
        }
        out.printf(Locale.ROOT, "does NOT fit on %s: %.2f GB short per device (weights + activations + one %d-token sequence > %.2f GB usable)%n",
                a.name(), r.shortfallBytes() / 1e9, r.seqLen(), r.worst().usableBytes() / 1e9);
        return false;
    }

    /** "TP 2 x PP 1", with expert parallelism "TP 2 x PP 1, EP 8 (4 attention groups)". */
    static String layoutLine(Layout l) {
        String s = "TP " + l.tp() + " x PP " + l.pp();
        if (l.ep() > 1) {
            s += ", EP " + l.ep() + (l.attentionGroups() > 1 ? " (" + l.attentionGroups() + " attention groups)" : "");
        }
        return s;
    }
}
