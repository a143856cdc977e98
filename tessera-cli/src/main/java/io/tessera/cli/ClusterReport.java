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
    }

    static void print(PrintStream p, Map<String, Object> o) {
        p.printf(Locale.ROOT, "cluster %s, %d micro-batches, %s wire: %.0f bytes on the wire per generated token%n",
                o.get("layout"), o.get("micro_batches"), o.get("wire"), o.get("wire_bytes_per_generated_token"));
        p.printf(Locale.ROOT, "  collectives %.0f bytes per token (theory %.0f), activations %.0f (theory %.0f); "
                        + "%.3f ms in collectives per generated token per worker; bubble %.1f%%%n",
                o.get("collective_bytes_per_token"), o.get("collective_bytes_per_token_theory"),
                o.get("activation_bytes_per_token"), o.get("activation_bytes_per_token_theory"),
                o.get("collective_ms_per_generated_token"), 100 * (double) o.get("pipeline_bubble_fraction"));
    }
}
