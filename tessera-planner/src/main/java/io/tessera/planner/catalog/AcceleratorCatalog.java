package io.tessera.planner.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The accelerators the planner knows, read from {@code accelerators.json} (a resource of this
 * module; every number there names its source). Lookup is by name or alias, case-insensitive, with
 * a list of the known names in the error when nothing matches.
 */
public final class AcceleratorCatalog {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile AcceleratorCatalog builtin;

    private final Map<String, Accelerator> byName;

    private AcceleratorCatalog(Map<String, Accelerator> byName) {
        this.byName = byName;
    }

    /** The catalog shipped with Tessera. */
    public static AcceleratorCatalog builtin() {
        AcceleratorCatalog c = builtin;
        if (c == null) {
            try (InputStream in = AcceleratorCatalog.class.getResourceAsStream("/io/tessera/planner/accelerators.json")) {
                if (in == null) {
                    throw new IllegalStateException("accelerators.json missing from the planner's resources");
                }
                c = parse(JSON.readTree(in));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            builtin = c;
        }
        return c;
    }

    /** A catalog read from a user's file in the same format. */
    public static AcceleratorCatalog load(Path file) throws IOException {
        return parse(JSON.readTree(Files.readAllBytes(file)));
    }

    /** The catalog in {@code file}, or the built-in one when it is null. */
    public static AcceleratorCatalog open(Path file) throws IOException {
        return file == null ? builtin() : load(file);
    }

    static AcceleratorCatalog parse(JsonNode root) {
        Map<String, Efficiency> profiles = new LinkedHashMap<>();
        JsonNode ps = root.path("efficiency_profiles");
        ps.fields().forEachRemaining(e -> profiles.put(e.getKey(), efficiency(e.getValue(), null)));
        Map<String, Accelerator> out = new LinkedHashMap<>();
        for (JsonNode a : root.path("accelerators")) {
            String name = a.path("name").asText();
            String profile = a.path("efficiency_profile").asText("");
            Efficiency base = profiles.get(profile);
            if (base == null) {
                throw new IllegalArgumentException("accelerator " + name + ": unknown efficiency_profile '" + profile + "'");
            }
            Efficiency eff = a.has("efficiency") ? efficiency(a.get("efficiency"), base) : base;
            List<String> aliases = new ArrayList<>();
            a.path("aliases").forEach(x -> aliases.add(x.asText()));
            Map<String, String> sources = new LinkedHashMap<>();
            a.path("sources").fields().forEachRemaining(e -> sources.put(e.getKey(), e.getValue().asText()));
            Accelerator acc = new Accelerator(name, aliases, a.path("vendor").asText(), num(a, "memory_gb", name),
                    num(a, "memory_bandwidth_gbps", name), a.path("fp32_tflops").asDouble(0),
                    num(a, "bf16_tflops", name), a.path("fp8_tflops").asDouble(0), a.path("int8_tops").asDouble(0),
                    a.path("intra_node_link").asText(), num(a, "intra_node_gbps", name),
                    num(a, "inter_node_gbps", name), a.path("devices_per_node").asInt(1),
                    a.path("link_latency_us").asDouble(5), eff, sources, a.path("price_per_hour").asDouble(0));
            out.put(name.toLowerCase(Locale.ROOT), acc);
        }
        return new AcceleratorCatalog(Collections.unmodifiableMap(out));
    }

    private static double num(JsonNode n, String field, String owner) {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException("accelerator " + owner + ": missing number " + field);
        }
        return v.asDouble();
    }

    private static Efficiency efficiency(JsonNode n, Efficiency base) {
        return new Efficiency(
                n.path("gemm_compute").asDouble(base == null ? 0.7 : base.gemmCompute()),
                n.path("weight_stream").asDouble(base == null ? 0.8 : base.weightStream()),
                n.path("attention_prefill").asDouble(base == null ? 0.5 : base.attentionPrefill()),
                n.path("attention_decode").asDouble(base == null ? 0.6 : base.attentionDecode()),
                n.path("elementwise").asDouble(base == null ? 0.5 : base.elementwise()),
                n.path("step_overhead_ms").asDouble(base == null ? 0 : base.stepOverheadMs()),
                n.path("op_overhead_us").asDouble(base == null ? 0 : base.opOverheadUs()),
                n.path("overlap").asDouble(base == null ? 1 : base.overlap()),
                n.path("memory_utilization").asDouble(base == null ? 0.9 : base.memoryUtilization()),
                n.path("link_efficiency").asDouble(base == null ? 0.8 : base.linkEfficiency()));
    }

    public List<Accelerator> all() {
        return List.copyOf(byName.values());
    }

    /** The accelerator named {@code name} (or with that alias), case-insensitive. */
    public Accelerator get(String name) {
        String key = name.toLowerCase(Locale.ROOT).trim();
        Accelerator a = byName.get(key);
        if (a != null) {
            return a;
        }
        for (Accelerator x : byName.values()) {
            for (String alias : x.aliases()) {
                if (alias.equalsIgnoreCase(key)) {
                    return x;
                }
            }
        }
        throw new IllegalArgumentException("unknown accelerator '" + name + "'; known: " + String.join(", ", byName.keySet()));
    }

    /** The accelerator named {@code name}, refused when the catalog gives it no price (ranking by cost needs one). */
    public Accelerator priced(String name) {
        Accelerator a = get(name);
        if (!a.hasPrice()) {
            throw new IllegalArgumentException("no price for " + a.name() + " in the catalog; add price_per_hour "
                    + "(US dollars per device-hour) to its entry in a --catalog file");
        }
        return a;
    }
}
