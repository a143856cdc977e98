package io.tessera.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.cluster.DistributedExecutor;
import io.tessera.cluster.transport.MessageType;
import io.tessera.core.model.ModelConfig;
import io.tessera.engine.EngineStats;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Communication figures of a distributed benchmark run: bytes on the wire per token against the
 * theoretical count, time in collectives, and the pipeline bubble (the share of worker time spent
 * idle: 1 − Σ busy / (workers × elapsed)).
 */
final class ClusterReport {

    /** Worker counters and the coordinator's STEP bytes at one moment. */
    record Snapshot(List<JsonNode> workers, long stepBytes) {
    }

    private ClusterReport() {
    }

    static Snapshot snapshot(DistributedExecutor d) throws IOException {
        return new Snapshot(d.workerStats(), d.counters().sentBytes(MessageType.STEP));
    }

    private static long sent(JsonNode w, String type) {
        JsonNode b = w.get("sentBytes").get(type);
        return b == null ? 0 : b.asLong();
    }

    static void add(Map<String, Object> out, DistributedExecutor d, ModelConfig cfg, EngineStats st, long nanos,
            Snapshot before) throws IOException {
        Snapshot after = snapshot(d);
        int tp = d.config().tp();
        int pp = d.config().pp();
        int b = d.config().wire().bytesPerValue();
        long collective = 0;
        long activation = 0;
        long logits = 0;
        long busy = 0;
        long collNanos = 0;
        for (int i = 0; i < after.workers().size(); i++) {
            JsonNode a = after.workers().get(i);
            JsonNode z = before.workers().get(i);
            collective += sent(a, "REDUCE_CHUNK") + sent(a, "GATHER_CHUNK") - sent(z, "REDUCE_CHUNK")
                    - sent(z, "GATHER_CHUNK");
            activation += sent(a, "ACTIVATION") - sent(z, "ACTIVATION");
            logits += sent(a, "LOGITS") - sent(z, "LOGITS");
            busy += a.get("busyNanos").asLong() - z.get("busyNanos").asLong();
            collNanos += a.get("collectiveNanos").asLong() - z.get("collectiveNanos").asLong();
        }
        long steps = after.stepBytes() - before.stepBytes();
        long tokens = st.batchedTokens();
        long generated = st.generatedTokens();
        int workers = after.workers().size();
        out.put("layout", "tp " + tp + " x pp " + pp);
        out.put("micro_batches", d.config().microBatches());
        out.put("wire", d.config().wire().name().toLowerCase(Locale.ROOT));
        out.put("wire_collective_bytes", collective);
        out.put("wire_activation_bytes", activation);
        out.put("wire_logits_bytes", logits);
        out.put("wire_step_bytes", steps);
        out.put("wire_bytes_per_generated_token", (double) (collective + activation + logits + steps) / generated);
        out.put("collective_bytes_per_token", (double) collective / tokens);
        // two all-reduces of dim values per layer; a ring of tp ranks sends 2·(tp−1)·N values per all-reduce
        out.put("collective_bytes_per_token_theory", (double) cfg.layers() * 2 * 2 * (tp - 1) * cfg.dim() * b);
        out.put("activation_bytes_per_token", (double) activation / tokens);
        out.put("activation_bytes_per_token_theory", (double) (pp - 1) * tp * cfg.dim() * b);
        out.put("collective_ms_per_generated_token", collNanos / 1e6 / workers / generated);
        out.put("pipeline_bubble_fraction", 1.0 - (double) busy / ((double) workers * nanos));
        if (d.config().ep() > 1) {
            addExperts(out, d, cfg, tokens, generated, before, after);
        }
    }

    private static long delta(JsonNode a, JsonNode z, String field) {
        JsonNode x = a.get(field);
        JsonNode y = z.get(field);
        return (x == null ? 0 : x.asLong()) - (y == null ? 0 : y.asLong());
    }

    /**
     * The expert-parallel all-to-all: dispatch and combine bytes per token per sparse layer against
     * the textbook {@code k · dim · b} each way (every pair remote), against the uniform-routing
     * expectation {@code (ep−1)/ep} of it, and against the rows that actually crossed; time in the
     * exchanges; and the (token, expert) rows each rank computed, whose largest over mean is the
     * measured imbalance.
     */
    private static void addExperts(Map<String, Object> out, DistributedExecutor d, ModelConfig cfg, long tokens,
            long generated, Snapshot before, Snapshot after) {
        int ep = d.config().ep();
        int b = d.config().wire().bytesPerValue();
        long dispatch = 0;
        long combine = 0;
        long remoteRows = 0;
        long exchangeNanos = 0;
        long[] computed = new long[after.workers().size()];
        for (int i = 0; i < after.workers().size(); i++) {
            JsonNode a = after.workers().get(i);
            JsonNode z = before.workers().get(i);
            dispatch += sent(a, "EXPERT_DISPATCH") - sent(z, "EXPERT_DISPATCH");
            combine += sent(a, "EXPERT_COMBINE") - sent(z, "EXPERT_COMBINE");
            remoteRows += delta(a, z, "expertRemoteRows");
            exchangeNanos += delta(a, z, "expertExchangeNanos");
            computed[i] = delta(a, z, "expertComputedRows");
        }
        int sparse = 0;
        for (int l = 0; l < cfg.layers(); l++) {
            sparse += cfg.moe().sparse(l) ? 1 : 0;
        }
        int k = cfg.moe().expertsUsed();
        double perTokenLayer = (double) tokens * sparse;
        out.put("layout", "tp " + d.config().tp() + " x pp " + d.config().pp() + " x ep " + ep);
        out.put("wire_bytes_per_generated_token", (double) out.get("wire_bytes_per_generated_token")
                + (double) (dispatch + combine) / generated);
        out.put("ep_dispatch_bytes", dispatch);
        out.put("ep_combine_bytes", combine);
        out.put("ep_dispatch_bytes_per_token_layer", dispatch / perTokenLayer);
        out.put("ep_combine_bytes_per_token_layer", combine / perTokenLayer);
        out.put("ep_bytes_per_token_layer_theory", (double) k * cfg.dim() * b);
        out.put("ep_bytes_per_token_layer_uniform", (double) k * cfg.dim() * b * (ep - 1) / ep);
        out.put("ep_remote_rows_per_token_layer", remoteRows / perTokenLayer);
        // payload of what crossed: each remote row once each way, with its expert id on the way out
        out.put("ep_dispatch_payload_model_bytes", remoteRows * (4L + (long) cfg.dim() * b));
        out.put("ep_combine_payload_model_bytes", remoteRows * (long) cfg.dim() * b);
        out.put("ep_exchange_ms_per_generated_token", exchangeNanos / 1e6 / after.workers().size() / generated);
        out.put("ep_exchange_us_per_token_layer", exchangeNanos / 1e3 / after.workers().size() / perTokenLayer);
        out.put("ep_rows_computed_per_worker", computed);
        long max = java.util.Arrays.stream(computed).max().orElse(0);
        double mean = java.util.Arrays.stream(computed).average().orElse(0);
        out.put("ep_imbalance_measured", mean == 0 ? 0 : max / mean);
    }

    static void print(PrintStream p, Map<String, Object> o) {
        p.printf(Locale.ROOT, "cluster %s, %d micro-batches, %s wire: %.0f bytes on the wire per generated token%n",
                o.get("layout"), o.get("micro_batches"), o.get("wire"), o.get("wire_bytes_per_generated_token"));
        p.printf(Locale.ROOT, "  collectives %.0f bytes per token (theory %.0f), activations %.0f (theory %.0f); "
                        + "%.3f ms in collectives per generated token per worker; bubble %.1f%%%n",
                o.get("collective_bytes_per_token"), o.get("collective_bytes_per_token_theory"),
                o.get("activation_bytes_per_token"), o.get("activation_bytes_per_token_theory"),
                o.get("collective_ms_per_generated_token"), 100 * (double) o.get("pipeline_bubble_fraction"));
        if (o.containsKey("ep_dispatch_bytes")) {
            p.printf(Locale.ROOT, "  expert all-to-all per token per sparse layer: dispatch %.0f, combine %.0f bytes "
                            + "(theory k·dim·b %.0f each way, %.0f at uniform routing; %.3f rows crossed); %.3f ms "
                            + "in exchanges per generated token per worker; rows computed per worker %s, "
                            + "imbalance %.3f%n",
                    o.get("ep_dispatch_bytes_per_token_layer"), o.get("ep_combine_bytes_per_token_layer"),
                    o.get("ep_bytes_per_token_layer_theory"), o.get("ep_bytes_per_token_layer_uniform"),
                    o.get("ep_remote_rows_per_token_layer"), o.get("ep_exchange_ms_per_generated_token"),
                    java.util.Arrays.toString((long[]) o.get("ep_rows_computed_per_worker")),
                    o.get("ep_imbalance_measured"));
        }
    }
}
