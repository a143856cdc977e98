package io.tessera.planner.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.sim.SimResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the planner's answers (snake_case keys, byte counts as numbers). */
public final class PlanJson {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PlanJson() {
    }

    /** Indented JSON text of maps, lists and numbers. */
    public static String write(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("plain maps and numbers always serialize", e);
        }
    }

    /** Latency percentiles, throughput and goodput of a simulation. */
    public static Map<String, Object> latency(SimResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", r.requests());
        m.put("completed", r.completed());
        m.put("rejected", r.rejected());
        m.put("preemptions", r.preemptions());
        m.put("steps", r.steps());
        m.put("makespan_s", r.makespan());
        for (String k : List.of("ttft", "tpot", "e2e")) {
            double[] xs = k.equals("ttft") ? r.ttft() : k.equals("tpot") ? r.tpot() : r.e2e();
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("mean", SimResult.mean(xs));
            p.put("p50", r.percentile(xs, 50));
            p.put("p90", r.percentile(xs, 90));
            p.put("p99", r.percentile(xs, 99));
            m.put(k + "_s", p);
        }
        m.put("throughput_tokens_per_s", r.throughput());
        m.put("throughput_requests_per_s", r.requestThroughput());
        m.put("slo_attainment", r.attainment());
        m.put("goodput_requests_per_s", r.goodput());
        return m;
    }

    /** A memory report: the whole model, then one entry per pipeline stage's device. */
    public static Map<String, Object> memory(MemoryModel.Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", r.model().name());
        m.put("parameters", r.model().totalParams());
        m.put("active_parameters", r.model().activeParams());
        m.put("precision", r.precision().label());
        m.put("kv_precision", r.kvPrecision().label());
        m.put("tp", r.layout().tp());
        m.put("pp", r.layout().pp());
        m.put("ep", r.layout().ep());
        m.put("attention_groups", r.layout().attentionGroups());
        m.put("devices", r.layout().devicesPerReplica());
        m.put("weights_bytes", r.weightsBytes());
        m.put("kv_cache_bytes_per_token", r.kvBytesPerToken());
        if (r.accelerator() != null) {
            m.put("accelerator", r.accelerator().name());
            m.put("seq_len", r.seqLen());
            m.put("fits", r.fits());
            m.put("shortfall_bytes", Math.max(0, r.shortfallBytes()));
            m.put("kv_tokens_per_replica", r.kvTokens());
            m.put("concurrent_sequences", r.concurrentSequences());
        }
        List<Map<String, Object>> devs = new ArrayList<>();
        for (MemoryModel.Device d : r.devices()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("stage", d.stage());
            x.put("layers", List.of(d.firstLayer(), d.lastLayerExclusive()));
            x.put("devices", r.layout().devicesPerReplica() / r.layout().pp());
            x.put("weights_bytes", d.weightsBytes());
            if (r.model().isMoe()) {
                x.put("routed_experts_per_layer", d.routedExperts());
                x.put("expert_weights_bytes", d.expertWeightsBytes());
            }
            x.put("kv_cache_bytes_per_token", d.kvBytesPerToken());
            x.put("activation_bytes", d.activationBytes());
            if (r.accelerator() != null) {
                x.put("usable_bytes", d.usableBytes());
                x.put("kv_cache_capacity_bytes", Math.max(0, d.kvCapacityBytes()));
                x.put("kv_tokens", d.kvTokens());
                x.put("fits", d.fits());
                x.put("shortfall_bytes", Math.max(0, d.shortfallBytes()));
            }
            devs.add(x);
        }
        m.put("per_device", devs);
        return m;
    }
}
