package io.tessera.planner.search;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.cost.StepCost;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelShape;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Simulator;
import io.tessera.planner.sim.Workload;
import io.tessera.planner.sim.Workloads;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;

/**
 * The layout search. Enumerates precisions x TP x PP (x EP for MoE) instances that fit; for each,
 * finds by simulation the highest Poisson request rate one instance sustains with at least
 * {@code attainment} of requests inside the SLOs — both SLOs colocated, the TTFT SLO for a
 * prefill-only instance and the TPOT SLO for a decode-only one, as DistServe does. Colocated
 * deployments replicate an instance (DP); disaggregated ones pair the best prefill and decode
 * instances of a precision at the P:D ratio with the most goodput per device. All are ranked by
 * goodput per device; the top ones are verified by simulating the whole deployment.
 */
public final class Search {

    /**
     * What to search. The workload gives the request lengths (its own rate is not used);
     * {@code targetRate} is the load to carry, 0 for "the most goodput per device".
     */
    public record Spec(ModelShape model, Accelerator accelerator, int maxDevices, double ttftSlo, double tpotSlo,
                       Workload workload, double targetRate, List<Precision> precisions, boolean colocated, boolean disaggregated,
                       double attainment, MemoryModel.Limits limits, int top, int simRequests) {
    }

    public record Result(Spec spec, List<Candidate> ranked, List<Candidate> losers, int layoutsConsidered,
                         long millis) {
    }

    private record Instance(Precision precision, Layout layout, MemoryModel.Report memory, double colocatedRate,
                            double prefillRate, double decodeRate, String reason) {
        int devices() {
            return layout.devicesPerReplica();
        }
    }

    /** Most requests one rate probe simulates. */
    static final int MAX_SAMPLE = 600;

    private Search() {
    }

    public static Result run(Spec s) {
        long t0 = System.nanoTime();
        List<Candidate> losers = new ArrayList<>();
        List<Instance> fitting = new ArrayList<>();
        List<Object[]> todo = new ArrayList<>();
        int seqLen = Math.min(s.workload().maxSequence(), s.model().maxContext());
        for (Precision p : s.precisions()) {
            for (int tp = 1; tp <= Math.min(s.maxDevices(), s.accelerator().devicesPerNode()); tp *= 2) {
                for (int pp = 1; tp * pp <= s.maxDevices(); pp *= 2) {
                    List<Integer> eps = new ArrayList<>(List.of(1));
                    if (s.model().isMoe() && tp > 1 && s.model().experts() % tp == 0) {
                        eps.add(tp);
                    }
                    for (int ep : eps) {
                        Layout l = new Layout(tp, pp, 1, ep);
                        String bad = l.invalidFor(s.model());
                        String label = p.label() + " " + l.label();
                        if (bad != null) {
                            losers.add(new Candidate("-", label, null, 0, 0, null, null, null, "invalid: " + bad));
                            continue;
                        }
                        MemoryModel.Report r = MemoryModel.report(s.model(), p, p.defaultKvPrecision(), l,
                                s.accelerator(), seqLen, s.limits());
                        if (!r.fits()) {
                            losers.add(new Candidate("-", label, null, 0, 0, r, null, null, String.format(Locale.ROOT,
                                    "does not fit: %.1f GB short per device (weights %.1f GB, usable %.1f GB)",
                                    r.shortfallBytes() / 1e9, r.worst().weightsBytes() / 1e9, r.worst().usableBytes() / 1e9)));
                            continue;
                        }
                        todo.add(new Object[] {p, l, r});
                    }
                }
            }
        }
        List<Instance> evaluated = todo.parallelStream()
                .map(o -> evaluate(s, (Precision) o[0], (Layout) o[1], (MemoryModel.Report) o[2]))
                .toList();
        for (Instance i : evaluated) {
            if (i.reason() != null) {
                losers.add(new Candidate("-", i.precision().label() + " " + i.layout().label(), null, 0, 0, i.memory(),
                        null, null, i.reason()));
            } else {
                fitting.add(i);
            }
        }
        List<Candidate> cands = new ArrayList<>();
        double rate = s.targetRate();
        for (Instance i : fitting) {
            if (s.colocated() && i.colocatedRate() > 0) {
                int replicas = rate > 0 ? (int) Math.ceil(rate / i.colocatedRate()) : s.maxDevices() / i.devices();
                Deployment d = Deployment.colocated(s.model(), i.precision(), s.accelerator(),
                        new Layout(i.layout().tp(), i.layout().pp(), Math.max(1, replicas), i.layout().ep()), Math.max(1, replicas), s.limits());
                Candidate c = new Candidate("colocated", d.label(), d, i.colocatedRate() / i.devices(),
                        i.colocatedRate() * replicas, i.memory(), null, null, null);
                if (replicas * i.devices() > s.maxDevices()) {
                    c = c.withReason(String.format(Locale.ROOT, "needs %d devices for %.3g req/s (one instance: %.3g req/s)",
                            replicas * i.devices(), rate, i.colocatedRate()));
                } else if (replicas == 0) {
                    c = c.withReason("one instance needs more than --max-gpus devices");
                }
                cands.add(c);
            } else if (s.colocated()) {
                losers.add(new Candidate("colocated", i.precision().label() + " " + i.layout().label(), null, 0, 0,
                        i.memory(), null, null, "SLOs missed even at the lowest simulated load"));
            }
        }
        if (s.disaggregated()) {
            for (Instance pi : fitting) {
                if (pi.prefillRate() <= 0) {
                    continue;
                }
                for (Instance di : fitting) {
                    if (di.precision() != pi.precision() || di.decodeRate() <= 0
                            || pi.devices() + di.devices() > s.maxDevices()) {
                        continue;
                    }
                    Candidate best = null;
                    for (int np = 1; np * pi.devices() + di.devices() <= s.maxDevices(); np++) {
                        for (int nd = 1; np * pi.devices() + nd * di.devices() <= s.maxDevices(); nd++) {
                            double g = Math.min(np * pi.prefillRate(), nd * di.decodeRate());
                            int dev = np * pi.devices() + nd * di.devices();
                            boolean enough = rate <= 0 || g >= rate;
                            if (!enough) {
                                continue;
                            }
                            double per = g / dev;
                            // with a target rate, the fewest devices that carry it; otherwise the most goodput per device
                            boolean better = best == null || (rate > 0
                                    ? dev < best.deployment().devices() || (dev == best.deployment().devices() && per > best.goodputPerDevice())
                                    : per > best.goodputPerDevice() * (1 + 1e-9) || (Math.abs(per - best.goodputPerDevice()) <= 1e-9 * per && g > best.goodput()));
                            if (better) {
                                Deployment d = Deployment.disaggregated(s.model(), pi.precision(), s.accelerator(),
                                        pi.layout(), np, di.layout(), nd, s.limits());
                                best = new Candidate("disaggregated", d.label(), d, per, g, pi.memory(), di.memory(),
                                        null, null);
                            }
                        }
                    }
                    if (best != null) {
                        cands.add(best);
                    }
                }
            }
        }
        cands.sort(Comparator.comparing((Candidate c) -> c.reason() != null)
                .thenComparing(Comparator.comparingDouble(Candidate::goodputPerDevice).reversed())
                .thenComparing(c -> c.deployment().devices()));
        List<Candidate> ranked = new ArrayList<>();
        List<Candidate> rest = new ArrayList<>();
        double bestPer = cands.isEmpty() ? 0 : cands.getFirst().goodputPerDevice();
        for (Candidate c : cands) {
            if (c.reason() == null && ranked.size() < s.top()) {
                ranked.add(c);
            } else if (c.reason() == null) {
                rest.add(c.withReason(String.format(Locale.ROOT, "goodput %.3g req/s per device, %.0f%% below the best",
                        c.goodputPerDevice(), 100 * (1 - c.goodputPerDevice() / bestPer))));
            } else {
                rest.add(c);
            }
        }
        List<Candidate> verified = ranked.parallelStream().map(c -> {
            double r = rate > 0 ? rate : c.goodput();
            Workload w = Workloads.atRate(s.workload(), r, s.simRequests() * 2);
            return c.withVerification(c.deployment().simulate(w, s.ttftSlo(), s.tpotSlo()));
        }).toList();
        List<Candidate> allLosers = new ArrayList<>(rest);
        allLosers.addAll(losers);
        return new Result(s, verified, allLosers, todo.size() + losers.size(), (System.nanoTime() - t0) / 1_000_000);
    }

    private static Instance evaluate(Spec s, Precision p, Layout l, MemoryModel.Report mem) {
        Deployment one = Deployment.colocated(s.model(), p, s.accelerator(), l, 1, s.limits());
        long blocks = one.blocksPerLane(l);
        CostModel cost = new CostModel(s.model(), p, p.defaultKvPrecision(), s.accelerator(), l);
        Simulator.Config cfg = one.config(s.ttftSlo(), s.tpotSlo());
        int lanes = l.pp();
        Workload w = s.workload();
        int n = s.simRequests();
        SimResult alone = Simulator.colocated(cfg, cost, lanes, blocks, Workloads.atRate(w, 1e-6, 1));
        double e2e = alone.e2e().length > 0 ? alone.e2e()[0] : Double.NaN;
        if (!(e2e > 0)) {
            return new Instance(p, l, mem, 0, 0, 0, "a single request does not fit its KV cache");
        }
        // a sample must span many request lifetimes, or a burst that the system would not sustain looks fine
        double span = 8 * e2e;
        java.util.function.DoubleToIntFunction count = r -> (int) Math.min(MAX_SAMPLE, Math.max(n, Math.ceil(r * span)));
        DoubleFunction<SimResult> both = r -> Simulator.colocated(cfg, cost, lanes, blocks, Workloads.atRate(w, r, count.applyAsInt(r)));
        Simulator.Config ttftOnly = new Simulator.Config(cfg.maxBatchedTokens(), cfg.maxSeqs(), cfg.blockSize(), 0, 0,
                s.ttftSlo(), Double.POSITIVE_INFINITY);
        DoubleFunction<SimResult> prefill = r -> Simulator.colocated(ttftOnly, cost, lanes, blocks,
                Workloads.promptsOnly(Workloads.atRate(w, r, count.applyAsInt(r))));
        Simulator.Config tpotOnly = new Simulator.Config(cfg.maxBatchedTokens(), cfg.maxSeqs(), cfg.blockSize(), 0, 0,
                Double.POSITIVE_INFINITY, s.tpotSlo());
        StepCost free = b -> 0;
        DoubleFunction<SimResult> decode = r -> new Simulator(tpotOnly, List.of(
                new Simulator.LaneGroup(Simulator.Role.PREFILL, 1, free, Long.MAX_VALUE / 4),
                new Simulator.LaneGroup(Simulator.Role.DECODE, lanes, cost, blocks))).run(Workloads.atRate(w, r, count.applyAsInt(r)));
        double guess = 1 / e2e;
        double colocated = s.colocated() ? maxRate(both, guess, s.attainment()) : 0;
        double pr = s.disaggregated() ? maxRate(prefill, guess, s.attainment()) : 0;
        double dr = s.disaggregated() ? maxRate(decode, guess, s.attainment()) : 0;
        if (colocated <= 0 && pr <= 0 && dr <= 0) {
            double ttft = alone.ttft()[0];
            double tpot = alone.tpot().length > 0 ? alone.tpot()[0] : 0;
            return new Instance(p, l, mem, 0, 0, 0, String.format(Locale.ROOT,
                    "SLOs out of reach: alone, a request sees TTFT %.3g s and TPOT %.3g s", ttft, tpot));
        }
        return new Instance(p, l, mem, colocated, pr, dr, null);
    }

    /** The highest rate whose attainment reaches the target: doubling from {@code guess}, then bisection. */
    static double maxRate(DoubleFunction<SimResult> raw, double guess, double target) {
        // met: the attainment target, and completions keep up with arrivals (no backlog growing to the end)
        DoubleFunction<SimResult> sim = r -> {
            SimResult x = raw.apply(r);
            return x.requestThroughput() >= 0.8 * r ? x : new SimResult(x.requests(), x.completed(), x.rejected(),
                    x.preemptions(), x.steps(), x.makespan(), x.ttft(), x.tpot(), x.e2e(), x.outputTokens(),
                    x.promptTokens(), 0, x.ttftSlo(), x.tpotSlo());
        };
        double lo = 0;
        double r = guess;
        if (sim.apply(r).attainment() >= target) {
            lo = r;
            for (int i = 0; i < 24; i++) {
                r *= 2;
                if (sim.apply(r).attainment() < target) {
                    break;
                }
                lo = r;
            }
        } else {
            double hi = r;
            for (int i = 0; i < 8 && lo == 0; i++) {
                hi = r;
                r /= 4;
                if (sim.apply(r).attainment() >= target) {
                    lo = r;
                }
            }
            if (lo == 0) {
                return 0;
            }
            r = hi;
        }
        double hi = r;
        for (int i = 0; i < 5; i++) {
            double mid = (lo + hi) / 2;
            if (sim.apply(mid).attainment() >= target) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
