package io.tessera.planner.report;

import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.search.Candidate;
import io.tessera.planner.search.CostRanking;
import io.tessera.planner.search.Search;
import io.tessera.planner.sim.SimResult;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes a layout search's answer: a table with the losers' reasons, or JSON; by goodput or by cost. */
public final class SearchReportWriter {

    private SearchReportWriter() {
    }

    /** The ranked layouts of one search and up to {@code losers} of the others with their reasons. */
    public static void write(PrintWriter out, Search.Result r, int losers, boolean json) {
        if (json) {
            out.println(PlanJson.write(json(r)));
            return;
        }
        Search.Spec s = r.spec();
        out.printf(Locale.ROOT, "%s on up to %d x %s; SLOs TTFT <= %s, TPOT <= %s for %.0f%% of requests%n", s.model().name(),
                s.maxDevices(), s.accelerator().name(), Units.ms(s.ttftSlo()) + " ms", Units.ms(s.tpotSlo()) + " ms",
                100 * s.attainment());
        out.printf(Locale.ROOT, "workload lengths: %s; %s%n", s.workload().describe(),
                s.targetRate() > 0 ? String.format(Locale.ROOT, "target %.3g req/s", s.targetRate()) : "planning for the most goodput per device");
        out.printf(Locale.ROOT, "%d layouts considered in %d ms%n%n", r.layoutsConsidered(), r.millis());
        if (r.ranked().isEmpty()) {
            out.println("no layout meets the SLOs within the devices given.");
        } else {
            out.printf(Locale.ROOT, "%-2s %-13s %-34s %4s %10s %9s %9s %9s %7s %9s %8s%n", "#", "mode", "layout", "devs",
                    "req/s/dev", "req/s", "TTFT p90", "TPOT p90", "attain", "weights", "KV room");
            int rank = 1;
            for (Candidate c : r.ranked()) {
                SimResult v = c.verification();
                MemoryModel.Device d = c.memory().worst();
                out.printf(Locale.ROOT, "%-2d %-13s %-34s %4d %10.3g %9.3g %9s %9s %6.1f%% %7sGB %6sGB%n", rank++, c.mode(),
                        c.label(), c.deployment().devices(), c.goodputPerDevice(), c.goodput(), p90(v, true), p90(v, false),
                        v == null ? 0 : 100 * v.attainment(), Units.gb(d.weightsBytes()),
                        Units.gb(Math.max(0, d.kvCapacityBytes())));
            }
            out.println();
            out.println("memory per device of the ranked layouts (GB): weights + activations + KV room = usable");
            rank = 1;
            for (Candidate c : r.ranked()) {
                out.printf(Locale.ROOT, "%-2d %s%n", rank++, memoryLine(c.decodeMemory() == null ? "" : "prefill ", c.memory()));
                if (c.decodeMemory() != null) {
                    out.printf(Locale.ROOT, "   %s%n", memoryLine("decode ", c.decodeMemory()));
                }
            }
        }
        if (!r.losers().isEmpty() && losers > 0) {
            out.println();
            out.println("why the others lost:");
            int n = 0;
            for (Candidate c : r.losers()) {
                if (n++ >= losers) {
                    out.printf(Locale.ROOT, "  ... and %d more (--losers N to see them)%n", r.losers().size() - losers);
                    break;
                }
                out.printf(Locale.ROOT, "  %-40s %s%n", c.label(), c.reason());
            }
        }
    }

    /** The JSON form of one search. */
    public static Map<String, Object> json(Search.Result r) {
        Search.Spec s = r.spec();
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("model", s.model().name());
        j.put("accelerator", s.accelerator().name());
        j.put("max_devices", s.maxDevices());
        j.put("ttft_slo_s", s.ttftSlo());
        j.put("tpot_slo_s", s.tpotSlo());
        j.put("attainment_target", s.attainment());
        j.put("target_rate", s.targetRate());
        j.put("workload", s.workload().describe());
        j.put("layouts_considered", r.layoutsConsidered());
        j.put("millis", r.millis());
        List<Map<String, Object>> ranked = new ArrayList<>();
        int rank = 1;
        for (Candidate c : r.ranked()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("rank", rank++);
            x.put("mode", c.mode());
            x.put("layout", c.label());
            x.put("devices", c.deployment().devices());
            x.put("goodput_per_device", c.goodputPerDevice());
            x.put("goodput", c.goodput());
            x.put("memory", PlanJson.memory(c.memory()));
            if (c.decodeMemory() != null) {
                x.put("decode_memory", PlanJson.memory(c.decodeMemory()));
            }
            if (c.verification() != null) {
                x.put("verification", PlanJson.latency(c.verification()));
            }
            ranked.add(x);
        }
        j.put("ranked", ranked);
        List<Map<String, Object>> lost = new ArrayList<>();
        for (Candidate c : r.losers()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("layout", c.label());
            x.put("reason", c.reason());
            lost.add(x);
        }
        j.put("losers", lost);
        return j;
    }

    /**
     * The cheapest {@code top} deployments of several searches (see {@link CostRanking}) with their
     * prices. Returns whether anything was ranked.
     */
    public static boolean writeByCost(PrintWriter out, List<Search.Result> results, int top, boolean json) {
        List<CostRanking.Row> rows = CostRanking.rank(results, top);
        Search.Spec s = results.getFirst().spec();
        if (json) {
            out.println(PlanJson.write(costJson(results, rows)));
            return !rows.isEmpty();
        }
        out.printf(Locale.ROOT, "%s on up to %d devices of %s; SLOs TTFT <= %s, TPOT <= %s for %.0f%% of requests%n",
                s.model().name(), s.maxDevices(),
                String.join(", ", results.stream().map(r -> r.spec().accelerator().name()).toList()),
                Units.ms(s.ttftSlo()) + " ms", Units.ms(s.tpotSlo()) + " ms", 100 * s.attainment());
        out.printf(Locale.ROOT, "workload lengths: %s; ranked by %s%n%n", s.workload().describe(), CostRanking.byHour(results)
                ? String.format(Locale.ROOT, "dollars per hour for %.3g req/s", s.targetRate()) : "dollars per million requests");
        if (rows.isEmpty()) {
            out.println("no layout meets the SLOs within the devices given.");
            return false;
        }
        out.printf(Locale.ROOT, "%-2s %-10s %-13s %-34s %4s %9s %8s %10s %9s %9s %7s%n", "#", "gpu", "mode", "layout", "devs",
                "req/s", "$/hour", "$/1M req", "TTFT p90", "TPOT p90", "attain");
        int rank = 1;
        for (CostRanking.Row x : rows) {
            Candidate c = x.candidate();
            SimResult v = c.verification();
            out.printf(Locale.ROOT, "%-2d %-10s %-13s %-34s %4d %9.3g %8.2f %10.2f %9s %9s %6.1f%%%n", rank++,
                    x.result().spec().accelerator().name(), c.mode(), c.label(), c.deployment().devices(), c.goodput(),
                    x.dollarsPerHour(), x.dollarsPerMillion(), p90(v, true), p90(v, false), v == null ? 0 : 100 * v.attainment());
        }
        out.println();
        out.println("prices (US dollars per device-hour, on-demand list prices; see `tessera plan gpus` for sources):");
        for (Search.Result r : results) {
            out.printf(Locale.ROOT, "  %-10s %.2f%n", r.spec().accelerator().name(), r.spec().accelerator().pricePerHour());
        }
        return true;
    }

    private static Map<String, Object> costJson(List<Search.Result> results, List<CostRanking.Row> rows) {
        Search.Spec s = results.getFirst().spec();
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("model", s.model().name());
        j.put("rank", "cost");
        j.put("target_rate", s.targetRate());
        j.put("workload", s.workload().describe());
        List<Map<String, Object>> ranked = new ArrayList<>();
        int rank = 1;
        for (CostRanking.Row x : rows) {
            Candidate c = x.candidate();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("rank", rank++);
            m.put("accelerator", x.result().spec().accelerator().name());
            m.put("price_per_hour", x.result().spec().accelerator().pricePerHour());
            m.put("mode", c.mode());
            m.put("layout", c.label());
            m.put("devices", c.deployment().devices());
            m.put("goodput", c.goodput());
            m.put("dollars_per_hour", x.dollarsPerHour());
            m.put("dollars_per_million_requests", x.dollarsPerMillion());
            if (c.verification() != null) {
                m.put("verification", PlanJson.latency(c.verification()));
            }
            ranked.add(m);
        }
        j.put("ranked", ranked);
        return j;
    }

    /** The verification's 90th percentile TTFT (or TPOT) in ms, "-" without one. */
    private static String p90(SimResult v, boolean ttft) {
        return v == null ? "-" : Units.ms(v.percentile(ttft ? v.ttft() : v.tpot(), 90)) + "ms";
    }

    private static String memoryLine(String prefix, MemoryModel.Report m) {
        MemoryModel.Device d = m.worst();
        return String.format(Locale.ROOT, "%s%s: %s + %s + %s = %s; %d KV tokens per replica", prefix, m.layout().label(),
                Units.gb(d.weightsBytes()), Units.gb(d.activationBytes()),
                Units.gb(Math.max(0, d.kvCapacityBytes())), Units.gb(d.usableBytes()), m.kvTokens());
    }
}
