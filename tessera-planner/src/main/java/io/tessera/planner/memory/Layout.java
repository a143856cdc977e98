package io.tessera.planner.memory;

import io.tessera.planner.model.ModelSpec;

/**
 * A parallel layout: tensor parallel degree {@code tp} (one node's devices split each layer),
 * pipeline stages {@code pp} (ranges of layers), data-parallel replicas {@code dp}, and expert
 * parallelism {@code ep} for MoE layers.
 *
 * <p>With {@code ep > 1} each MoE layer's routed experts are spread whole over {@code ep} devices
 * of every stage, and a token reaches its experts by an all-to-all (dispatch, then combine)
 * instead of the FFN's all-reduce. {@code ep} is a multiple of {@code tp}: {@code ep = tp} spreads
 * the experts over the tensor-parallel group; {@code ep = g x tp} also replicates attention, the
 * dense layers, shared experts and the head in {@code g} attention groups of {@code tp} devices
 * (data-parallel attention, as in DeepSeek's and SGLang's EP deployments), each serving its own
 * share of the sequences and keeping their KV cache. One replica then has {@code pp x ep} devices.
 */
public record Layout(int tp, int pp, int dp, int ep) {

    public Layout {
        if (tp < 1 || pp < 1 || dp < 1 || ep < 1) {
            throw new IllegalArgumentException("tp, pp, dp and ep must be at least 1");
        }
        if (ep > 1 && ep % tp != 0) {
            throw new IllegalArgumentException("ep " + ep + " must be 1 or a multiple of tp " + tp
                    + " (experts spread over the tensor-parallel group, or over several data-parallel attention groups)");
        }
    }

    public static Layout of(int tp, int pp) {
        return new Layout(tp, pp, 1, 1);
    }

    /** Attention groups of one replica: {@code ep / tp} with data-parallel attention, else 1. */
    public int attentionGroups() {
        return ep > tp ? ep / tp : 1;
    }

    /** Devices of one replica: {@code pp} stages of {@code tp} devices in each attention group. */
    public int devicesPerReplica() {
        return tp * attentionGroups() * pp;
    }

    /** Devices holding parts of one sequence's KV cache: its attention group's, over all stages. */
    public int kvShards() {
        return tp * pp;
    }

    public int devices() {
        return devicesPerReplica() * dp;
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
