package io.tessera.server;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.tessera.engine.Engine;
import io.tessera.engine.kv.KvTierStats;
import java.util.function.ToDoubleFunction;

/**
 * The KV offload tiers' metrics, one series per tier present (label {@code tier}: "memory" for
 * tier 2, "disk" for tier 3; and the served model's name, as every engine metric), read from the
 * engine's stats at scrape time. The pool itself (tier 1)
 * is {@code tessera_prefix_cache_hit_rate}, whose hits count blocks restored from the tiers too.
 */
final class KvOffloadMetrics {

    private KvOffloadMetrics() {
    }

    static void register(PrometheusRegistry registry, Engine engine, String model) {
        counter(registry, engine, model, "tessera_kv_offload_hits_total",
                "KV blocks brought back from an offload tier on a prefix hit instead of being recomputed.",
                KvTierStats::hits);
        counter(registry, engine, model, "tessera_kv_offload_misses_total",
                "Prefix lookups that reached an offload tier and did not find the block there (damaged files included).",
                KvTierStats::misses);
        counter(registry, engine, model, "tessera_kv_offload_written_bytes_total", "Bytes of KV blocks written to an offload tier.",
                KvTierStats::writtenBytes);
        counter(registry, engine, model, "tessera_kv_offload_read_bytes_total",
                "Bytes of KV blocks read back from an offload tier.", KvTierStats::readBytes);
        counter(registry, engine, model, "tessera_kv_offload_corrupt_total",
                "Offload files that failed their checks (size, header, checksum) and were dropped.", KvTierStats::corrupt);
        counter(registry, engine, model, "tessera_kv_offload_dropped_total",
                "KV blocks an offload tier forgot for lack of room.", KvTierStats::dropped);
        GaugeWithCallback.builder().name("tessera_kv_offload_stored_bytes")
                .help("Bytes of KV blocks an offload tier holds now.").labelNames(ServerMetrics.MODEL_LABEL, "tier")
                .callback(cb -> engine.kvStats().offloadTiers().forEach(t -> cb.call(t.storedBytes(), model, t.tier())))
                .register(registry);
        GaugeWithCallback.builder().name("tessera_kv_offload_capacity_bytes")
                .help("The bound of an offload tier in bytes.").labelNames(ServerMetrics.MODEL_LABEL, "tier")
                .callback(cb -> engine.kvStats().offloadTiers().forEach(t -> cb.call(t.capacityBytes(), model, t.tier())))
                .register(registry);
        GaugeWithCallback.builder().name("tessera_kv_offload_hit_rate")
                .help("Share of the prefix lookups reaching an offload tier that it served, since start.")
                .labelNames(ServerMetrics.MODEL_LABEL, "tier")
                .callback(cb -> engine.kvStats().offloadTiers().forEach(t -> cb.call(t.hitRate(), model, t.tier())))
                .register(registry);
    }

    private static void counter(PrometheusRegistry registry, Engine engine, String model, String name, String help,
            ToDoubleFunction<KvTierStats> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames(ServerMetrics.MODEL_LABEL, "tier")
                .callback(cb -> engine.kvStats().offloadTiers().forEach(t -> cb.call(value.applyAsDouble(t), model, t.tier())))
                .register(registry);
    }
}
