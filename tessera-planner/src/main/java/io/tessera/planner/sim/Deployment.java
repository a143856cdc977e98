package io.tessera.planner.sim;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * A concrete serving system to simulate: a model at a precision on an accelerator, either
 * {@code replicas} colocated instances of {@code layout}, or {@code prefill} instances of
 * {@code layout} and {@code decode} instances of {@code decodeLayout} with the KV cache handed over
 * between them.
 */
public record Deployment(ModelSpec model, Precision precision, Precision kvPrecision, Accelerator accelerator,
                         Layout layout, int replicas, Layout decodeLayout, int prefill, int decode,
                         MemoryModel.Limits limits, int blockSize) {

    public static Deployment colocated(ModelSpec m, Precision p, Accelerator a, Layout l, int replicas,
                                       MemoryModel.Limits limits) {
        return new Deployment(m, p, p.defaultKvPrecision(), a, l, replicas, null, 0, 0, limits, 16);
    }

    public static Deployment disaggregated(ModelSpec m, Precision p, Accelerator a, Layout prefillLayout, int prefill,
                                           Layout decodeLayout, int decode, MemoryModel.Limits limits) {
        return new Deployment(m, p, p.defaultKvPrecision(), a, prefillLayout, 0, decodeLayout, prefill, decode, limits, 16);
    }

    /** Parses a "P:D" instance ratio (e.g. 1:2), both at least 1; {@code what} names the option in errors. */
    public static int[] parseRatio(String what, String s) {
        String[] f = s.trim().split(":");
        try {
            if (f.length == 2) {
                int p = Integer.parseInt(f[0].trim());
                int d = Integer.parseInt(f[1].trim());
                if (p >= 1 && d >= 1) {
                    return new int[] {p, d};
                }
            }
        } catch (NumberFormatException e) {
            // refused below with the form it wants
        }
        throw new IllegalArgumentException(what + " wants P:D with both at least 1, e.g. 1:2, not '" + s + "'");
    }

    /** Refuses a deployment whose instances cannot hold the workload's longest request (capped at the model's context). */
    public void requireFits(Workload w) {
        for (Layout l : isDisaggregated() ? new Layout[] {layout, decodeLayout} : new Layout[] {layout}) {
            MemoryModel.Report r = memory(l, Math.min(w.maxSequence(), model.maxContext()));
            if (!r.fits()) {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                        "%s %s does not fit on %s: %.2f GB short per device", model.name(), l.label(), accelerator.name(),
                        r.shortfallBytes() / 1e9));
            }
        }
    }

    public boolean isDisaggregated() {
        return decodeLayout != null;
    }

    public int devices() {
        return isDisaggregated()
                ? prefill * layout.devicesPerReplica() + decode * decodeLayout.devicesPerReplica()
                : replicas * layout.devicesPerReplica();
    }

    public MemoryModel.Report memory(Layout l, int seqLen) {
        return MemoryModel.report(model, precision, kvPrecision, l, accelerator, seqLen, limits);
    }

    /** KV blocks of each of an instance's {@code pp} lanes. */
    public long blocksPerLane(Layout l) {
        MemoryModel.Report r = memory(l, 1);
        return Math.max(0, r.kvTokens() / l.pp() / blockSize);
    }

    /** Seconds per token of KV cache to move from a prefill to a decode instance. */
    public double transferSecondsPerToken() {
        // a sequence's KV lives on its attention group's devices, all of which send their part at once
        double bytesPerDevice = MemoryModel.kvBytesPerToken(model, kvPrecision) / layout.kvShards();
        int span = devices();
        return bytesPerDevice / accelerator.linkBytesPerSecond(span);
    }

    /**
     * The simulator's settings. The engine limits are per attention group (each group schedules
     * its own sequences, as vLLM's and SGLang's data-parallel attention ranks do; see
     * {@link Simulator.LaneGroup}).
     */
    public Simulator.Config config(double ttftSlo, double tpotSlo) {
        Simulator.Config c = new Simulator.Config(limits.maxBatchedTokens(), limits.maxSeqs(), blockSize, 0, 0, ttftSlo, tpotSlo);
        return isDisaggregated() ? c.withTransfer(transferSecondsPerToken(), accelerator.linkLatencyUs() * 1e-6) : c;
    }

    public Simulator simulator(double ttftSlo, double tpotSlo) {
        List<Simulator.LaneGroup> groups = new ArrayList<>();
        CostModel c = new CostModel(model, precision, kvPrecision, accelerator, layout);
        if (isDisaggregated()) {
            CostModel d = new CostModel(model, precision, kvPrecision, accelerator, decodeLayout);
            groups.add(new Simulator.LaneGroup(Simulator.Role.PREFILL, prefill * layout.pp(), c, blocksPerLane(layout),
                    layout.attentionGroups()));
            groups.add(new Simulator.LaneGroup(Simulator.Role.DECODE, decode * decodeLayout.pp(), d, blocksPerLane(decodeLayout),
                    decodeLayout.attentionGroups()));
        } else {
            groups.add(new Simulator.LaneGroup(Simulator.Role.COLOCATED, replicas * layout.pp(), c, blocksPerLane(layout),
                    layout.attentionGroups()));
        }
        return new Simulator(config(ttftSlo, tpotSlo), groups);
    }

    public SimResult simulate(Workload w, double ttftSlo, double tpotSlo) {
        return simulator(ttftSlo, tpotSlo).run(w);
    }

    public String label() {
        if (isDisaggregated()) {
            return precision.label() + " P[" + layout.label() + "] x" + prefill + " : D[" + decodeLayout.label() + "] x" + decode;
        }
        return precision.label() + " " + layout.label() + (replicas > 1 ? " x" + replicas : "");
    }
}
