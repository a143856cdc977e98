package io.tessera.cli.plan;

import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.search.Candidate;
import io.tessera.planner.search.Search;
import io.tessera.planner.sim.SimResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Prints a search result as a table or as JSON. */
public final class PlanSearchOutput {

    private PlanSearchOutput() {
    }

    public static void print(PrintWriter out, Search.Result r, int losers, boolean json) throws IOException {
        Search.Spec s = r.spec();
        if (json) {
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
                x.put("memory", PlanSupport.memoryJson(c.memory()));
                if (c.decodeMemory() != null) {
                    x.put("decode_memory", PlanSupport.memoryJson(c.decodeMemory()));
                }
                if (c.verification() != null) {
                    x.put("verification", PlanSupport.latency(c.verification()));
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
            out.println(PlanSupport.json(j));
            return;
        }
        out.printf(Locale.ROOT, "%s on up to %d x %s; SLOs TTFT <= %s, TPOT <= %s for %.0f%% of requests%n", s.model().name(),
                s.maxDevices(), s.accelerator().name(), PlanSupport.ms(s.ttftSlo()) + " ms", PlanSupport.ms(s.tpotSlo()) + " ms",
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
                        c.label(), c.deployment().devices(), c.goodputPerDevice(), c.goodput(),
                        v == null ? "-" : PlanSupport.ms(v.percentile(v.ttft(), 90)) + "ms",
                        v == null ? "-" : PlanSupport.ms(v.percentile(v.tpot(), 90)) + "ms",
                        v == null ? 0 : 100 * v.attainment(), PlanSupport.gb(d.weightsBytes()),
                        PlanSupport.gb(Math.max(0, d.kvCapacityBytes())));
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

    /** Dollars per hour of a candidate's deployment. */
    static double dollarsPerHour(Search.Result r, Candidate c) {
        return c.deployment().devices() * r.spec().accelerator().pricePerHour();
    }

    /** Dollars per million requests served at the candidate's goodput. */
    static double dollarsPerMillion(Search.Result r, Candidate c) {
        return dollarsPerHour(r, c) / 3600 / c.goodput() * 1e6;
    }

    /**
     * The ranked candidates of several searches (one per accelerator) merged by cost: dollars per
     * million requests, or with a target rate the dollars per hour of the deployment carrying it.
     * Returns whether anything was ranked.
     */
    public static boolean printByCost(PrintWriter out, List<Search.Result> results, int top, boolean json) throws IOException {
        record Row(Search.Result r, Candidate c) {
        }
        List<Row> rows = new ArrayList<>();
        for (Search.Result r : results) {
            for (Candidate c : r.ranked()) {
                rows.add(new Row(r, c));
            }
        }
        boolean target = results.getFirst().spec().targetRate() > 0;
        rows.sort(java.util.Comparator.comparingDouble((Row x) -> target ? dollarsPerHour(x.r(), x.c()) : dollarsPerMillion(x.r(), x.c()))
                .thenComparingDouble(x -> dollarsPerMillion(x.r(), x.c()))
                .thenComparing(x -> x.r().spec().accelerator().name())
                .thenComparing(x -> x.c().label()));
        if (rows.size() > top) {
            rows = rows.subList(0, top);
        }
        Search.Spec s = results.getFirst().spec();
        if (json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("model", s.model().name());
            j.put("rank", "cost");
            j.put("target_rate", s.targetRate());
            j.put("workload", s.workload().describe());
            List<Map<String, Object>> ranked = new ArrayList<>();
            int rank = 1;
            for (Row x : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("rank", rank++);
                m.put("accelerator", x.r().spec().accelerator().name());
                m.put("price_per_hour", x.r().spec().accelerator().pricePerHour());
                m.put("mode", x.c().mode());
                m.put("layout", x.c().label());
                m.put("devices", x.c().deployment().devices());
                m.put("goodput", x.c().goodput());
                m.put("dollars_per_hour", dollarsPerHour(x.r(), x.c()));
                m.put("dollars_per_million_requests", dollarsPerMillion(x.r(), x.c()));
                if (x.c().verification() != null) {
                    m.put("verification", PlanSupport.latency(x.c().verification()));
                }
                ranked.add(m);
            }
            j.put("ranked", ranked);
            out.println(PlanSupport.json(j));
            return !rows.isEmpty();
        }
        out.printf(Locale.ROOT, "%s on up to %d devices of %s; SLOs TTFT <= %s, TPOT <= %s for %.0f%% of requests%n",
                s.model().name(), s.maxDevices(),
                String.join(", ", results.stream().map(r -> r.spec().accelerator().name()).toList()),
                PlanSupport.ms(s.ttftSlo()) + " ms", PlanSupport.ms(s.tpotSlo()) + " ms", 100 * s.attainment());
        out.printf(Locale.ROOT, "workload lengths: %s; ranked by %s%n%n", s.workload().describe(), target
                ? String.format(Locale.ROOT, "dollars per hour for %.3g req/s", s.targetRate()) : "dollars per million requests");
        if (rows.isEmpty()) {
            out.println("no layout meets the SLOs within the devices given.");
            return false;
        }
        out.printf(Locale.ROOT, "%-2s %-10s %-13s %-34s %4s %9s %8s %10s %9s %9s %7s%n", "#", "gpu", "mode", "layout", "devs",
                "req/s", "$/hour", "$/1M req", "TTFT p90", "TPOT p90", "attain");
        int rank = 1;
        for (Row x : rows) {
            SimResult v = x.c().verification();
            out.printf(Locale.ROOT, "%-2d %-10s %-13s %-34s %4d %9.3g %8.2f %10.2f %9s %9s %6.1f%%%n", rank++,
                    x.r().spec().accelerator().name(), x.c().mode(), x.c().label(), x.c().deployment().devices(), x.c().goodput(),
                    dollarsPerHour(x.r(), x.c()), dollarsPerMillion(x.r(), x.c()),
                    v == null ? "-" : PlanSupport.ms(v.percentile(v.ttft(), 90)) + "ms",
                    v == null ? "-" : PlanSupport.ms(v.percentile(v.tpot(), 90)) + "ms", v == null ? 0 : 100 * v.attainment());
        }
        out.println();
        out.println("prices (US dollars per device-hour, on-demand list prices; see `tessera plan gpus` for sources):");
        for (Search.Result r : results) {
            out.printf(Locale.ROOT, "  %-10s %.2f%n", r.spec().accelerator().name(), r.spec().accelerator().pricePerHour());
        }
        return true;
    }

    private static String memoryLine(String prefix, MemoryModel.Report m) {
        MemoryModel.Device d = m.worst();
        return String.format(Locale.ROOT, "%s%s: %s + %s + %s = %s; %d KV tokens per replica", prefix, m.layout().label(),
                PlanSupport.gb(d.weightsBytes()), PlanSupport.gb(d.activationBytes()),
                PlanSupport.gb(Math.max(0, d.kvCapacityBytes())), PlanSupport.gb(d.usableBytes()), m.kvTokens());
    }
}
