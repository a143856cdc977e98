package io.tessera.planner.memory;

import io.tessera.planner.model.ModelSpec;

/**
 * A parallel layout: tensor parallel degree {@code tp} (one node's devices split each layer),
 * pipeline stages {@code pp} (ranges of layers), data-parallel replicas {@code dp}, and expert
 * parallelism {@code ep} for MoE layers. With {@code ep > 1} the experts of each MoE layer are
 * spread whole over the {@code ep} ranks of the tensor-parallel group ({@code ep} must equal
 * {@code tp}); dispatch is an all-to-all instead of the FFN's all-reduce.
 */
public record Layout(int tp, int pp, int dp, int ep) {

    public Layout {
        if (tp < 1 || pp < 1 || dp < 1 || ep < 1) {
            throw new IllegalArgumentException("tp, pp, dp and ep must be at least 1");
        }
        if (ep > 1 && ep != tp) {
            throw new IllegalArgumentException("ep must be 1 or equal to tp (experts spread over the tensor-parallel group)");
        }
    }

    public static Layout of(int tp, int pp) {
        return new Layout(tp, pp, 1, 1);
    }

    /** Devices of one replica. */
    public int devicesPerReplica() {
        return tp * pp;
    }

    public int devices() {
        return tp * pp * dp;
    }

    /** Checks the layout against a model; returns null when it is valid, else the reason. */
    public String invalidFor(ModelSpec m) {
        if (m.heads() % tp != 0) {
            return "tp " + tp + " does not divide " + m.heads() + " attention heads";
        }
        if (!m.isMla() && tp > m.kvHeads() && tp % m.kvHeads() != 0) {
            return "tp " + tp + " is not a multiple of " + m.kvHeads() + " kv heads";
        }
        if (!m.isMla() && tp <= m.kvHeads() && m.kvHeads() % tp != 0) {
            return "tp " + tp + " does not divide " + m.kvHeads() + " kv heads";
        }
        if (pp > m.layers()) {
            return "pp " + pp + " exceeds " + m.layers() + " layers";
        }
        if (ep > 1 && (!m.isMoe() || m.experts() % ep != 0)) {
            return m.isMoe() ? "ep " + ep + " does not divide " + m.experts() + " experts" : "ep needs an MoE model";
        }
        return null;
    }

    public String label() {
        StringBuilder b = new StringBuilder("TP").append(tp).append(" PP").append(pp);
        if (dp > 1) {
            b.append(" DP").append(dp);
        }
        if (ep > 1) {
            b.append(" EP").append(ep);
        }
        return b.toString();
    }
}
