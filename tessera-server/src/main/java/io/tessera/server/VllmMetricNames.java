package io.tessera.server;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * vLLM's names for the metrics Tessera has too, so that Grafana dashboards and alerts written for
 * vLLM (its {@code vllm:*} metrics with a {@code model_name} label) work unchanged. Each alias is
 * a copy of the Tessera metric's snapshot under the vLLM name, taken in the same scrape, so the two
 * never disagree and nothing is counted twice. Names as vLLM's production metrics documentation
 * gives them (V1 engine; {@code gpu_cache_usage_perc} and {@code time_per_output_token_seconds} are
 * the older names still used by many dashboards). Counter names are given without {@code _total},
 * which the exposition adds.
 */
final class VllmMetricNames {

    /** Tessera's metric (as the registry names it) to its vLLM names. */
    static final Map<String, List<String>> ALIASES = Map.ofEntries(
            Map.entry("tessera_requests_running", List.of("vllm:num_requests_running")),
            Map.entry("tessera_requests_waiting", List.of("vllm:num_requests_waiting")),
            Map.entry("tessera_kv_cache_usage_ratio", List.of("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")),
            Map.entry("tessera_prefix_cache_queries", List.of("vllm:prefix_cache_queries")),
            Map.entry("tessera_prefix_cache_hits", List.of("vllm:prefix_cache_hits")),
            Map.entry("tessera_preemptions", List.of("vllm:num_preemptions")),
            Map.entry("tessera_prompt_tokens", List.of("vllm:prompt_tokens")),
            Map.entry("tessera_generation_tokens", List.of("vllm:generation_tokens")),
            Map.entry("tessera_request_success", List.of("vllm:request_success")),
            Map.entry("tessera_time_to_first_token_seconds", List.of("vllm:time_to_first_token_seconds")),
            Map.entry("tessera_inter_token_latency_seconds", List.of("vllm:inter_token_latency_seconds",
                    "vllm:time_per_output_token_seconds")),
            Map.entry("tessera_e2e_request_latency_seconds", List.of("vllm:e2e_request_latency_seconds")),
            Map.entry("tessera_spec_decode_num_drafts", List.of("vllm:spec_decode_num_drafts")),
            Map.entry("tessera_spec_decode_num_draft_tokens", List.of("vllm:spec_decode_num_draft_tokens")),
            Map.entry("tessera_spec_decode_num_accepted_tokens", List.of("vllm:spec_decode_num_accepted_tokens")),
            Map.entry("tessera_spec_decode_num_accepted_tokens_per_pos",
                    List.of("vllm:spec_decode_num_accepted_tokens_per_pos")));

    private VllmMetricNames() {
    }

    /** The snapshots followed by their vLLM aliases. */
    static MetricSnapshots withAliases(MetricSnapshots snapshots) {
        List<MetricSnapshot> all = new ArrayList<>();
        List<MetricSnapshot> aliases = new ArrayList<>();
        for (MetricSnapshot s : snapshots) {
            all.add(s);
            for (String name : ALIASES.getOrDefault(s.getMetadata().getName(), List.of())) {
                aliases.add(renamed(s, new MetricMetadata(name, s.getMetadata().getHelp() + " (vLLM's name)")));
            }
        }
        all.addAll(aliases);
        return new MetricSnapshots(all);
    }

    private static MetricSnapshot renamed(MetricSnapshot s, MetricMetadata m) {
        return switch (s) {
            case CounterSnapshot c -> new CounterSnapshot(m, c.getDataPoints());
            case GaugeSnapshot g -> new GaugeSnapshot(m, g.getDataPoints());
            case HistogramSnapshot h -> new HistogramSnapshot(h.isGaugeHistogram(), m, h.getDataPoints());
            default -> throw new IllegalStateException("no vLLM alias for a " + s.getClass().getSimpleName());
        };
    }
}
