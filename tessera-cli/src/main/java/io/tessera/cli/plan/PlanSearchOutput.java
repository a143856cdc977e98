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

    private static String memoryLine(String prefix, MemoryModel.Report m) {
        MemoryModel.Device d = m.worst();
        return String.format(Locale.ROOT, "%s%s: %s + %s + %s = %s; %d KV tokens per replica", prefix, m.layout().label(),
                PlanSupport.gb(d.weightsBytes()), PlanSupport.gb(d.activationBytes()),
                PlanSupport.gb(Math.max(0, d.kvCapacityBytes())), PlanSupport.gb(d.usableBytes()), m.kvTokens());
    }
}
