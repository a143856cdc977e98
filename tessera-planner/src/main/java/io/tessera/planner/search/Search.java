package io.tessera.planner.search;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.cost.Batch;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.cost.StepCost;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelSpec;
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
 *
 * <p>Simulations are the cost, so they are spent where the ranking needs them: each instance first
 * gets closed-form upper bounds on its rates (from step times of the cost model at the largest
 * batch that meets the SLOs), and a role is simulated only when a candidate that needs it could
 * still enter the top; candidates whose bound falls below the top ones are reported with the bound.
 * Roles are simulated in parallel a fixed wave at a time, so the result does not depend on the
 * number of cores.
 */
public final class Search {

    /**
     * What to search. The workload gives the request lengths (its own rate is not used);
     * {@code targetRate} is the load to carry, 0 for "the most goodput per device".
     */
    public record Spec(ModelSpec model, Accelerator accelerator, int maxDevices, double ttftSlo, double tpotSlo,
                       Workload workload, double targetRate, List<Precision> precisions, boolean colocated, boolean disaggregated,
                       double attainment, MemoryModel.Limits limits, int top, int simRequests) {
    }

    public record Result(Spec spec, List<Candidate> ranked, List<Candidate> losers, int layoutsConsidered,
                         long millis) {
    }

    static final int COLOCATED = 0;
    static final int PREFILL = 1;
    static final int DECODE = 2;

    /**
     * One instance (a precision and a layout that fit). Each role's highest rate is computed by
     * simulation only when a candidate needs it; until then a closed-form upper bound stands in.
     */
    private static final class Instance {
        final Precision precision;
        final Layout layout;
        final MemoryModel.Report memory;
        final Probes probes;
        /** Upper bounds per role (colocated, prefill, decode), req/s of one instance. */
        final double[] bound;
        /** Simulated rates per role; NaN until computed. */
        final double[] rate = {Double.NaN, Double.NaN, Double.NaN};

        Instance(Precision precision, Layout layout, MemoryModel.Report memory, Probes probes, double[] bound) {
            this.precision = precision;
            this.layout = layout;
            this.memory = memory;
            this.probes = probes;
            this.bound = bound;
        }

        int devices() {
            return layout.devicesPerReplica();
        }

        String label() {
            return precision.label() + " " + layout.label();
        }

        /** The simulated rate when known, else the bound. */
        double best(int role) {
            return Double.isNaN(rate[role]) ? bound[role] : rate[role];
        }

        boolean exact(int role) {
            return !Double.isNaN(rate[role]);
        }
    }

    /** Most requests one rate probe simulates. */
    static final int MAX_SAMPLE = 600;

    /**
     * Slack on the closed-form bounds: a simulation's sample of lengths has other means than the
     * large sample the bounds use (10%), and a rate counts as sustained when completions reach 80%
     * of arrivals.
     */
    static final double BOUND_SLACK = 1.1 / 0.8;

    /** Candidates simulated per round of the search (fixed, so results do not depend on the core count). */
    static final int WAVE = 4;

    private Search() {
    }

    public static Result run(Spec s) {
        long t0 = System.nanoTime();
        List<Candidate> losers = new ArrayList<>();
        List<Object[]> todo = new ArrayList<>();
        int seqLen = Math.min(s.workload().maxSequence(), s.model().maxContext());
        for (Precision p : s.precisions()) {
            for (int tp = 1; tp <= Math.min(s.maxDevices(), s.accelerator().devicesPerNode()); tp *= 2) {
                for (int pp = 1; tp * pp <= s.maxDevices(); pp *= 2) {
                    for (int ep : expertDegrees(s.model(), tp, pp, s.maxDevices())) {
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
        int considered = todo.size() + losers.size();
        Lengths lengths = Lengths.of(s);
        List<Instance> fitting = new ArrayList<>();
        for (Instance i : todo.parallelStream().map(o -> instance(s, lengths, (Precision) o[0], (Layout) o[1],
                (MemoryModel.Report) o[2])).toList()) {
            if (!(i.probes.e2e() > 0)) {
                losers.add(new Candidate("-", i.label(), null, 0, 0, i.memory, null, null,
                        "a single request does not fit its KV cache"));
            } else if (i.bound[COLOCATED] <= 0 && i.bound[PREFILL] <= 0 && i.bound[DECODE] <= 0) {
                losers.add(new Candidate("-", i.label(), null, 0, 0, i.memory, null, null, String.format(Locale.ROOT,
                        "SLOs out of reach: alone, a request sees TTFT %.3g s and TPOT %.3g s", i.probes.alone().ttft()[0],
                        i.probes.alone().tpot().length > 0 ? i.probes.alone().tpot()[0] : 0)));
            } else {
                fitting.add(i);
            }
        }
        // Branch and bound: candidates in order of their bound (or simulated goodput); simulate the
        // roles of the leading ones a wave at a time until the top ones are all simulated and nothing
        // unsimulated could overtake them.
        List<Candidate> cands;
        List<Candidate> bounded = new ArrayList<>();
        while (true) {
            bounded.clear();
            cands = candidates(s, fitting, bounded);
            List<Object[]> wave = new ArrayList<>();
            java.util.Set<String> queued = new java.util.HashSet<>();
            int exactLeaders = 0;
            for (Candidate c : cands) {
                if (c.reason() != null || exactLeaders >= s.top() || wave.size() >= WAVE) {
                    break;
                }
                List<Object[]> missing = missingRoles(c, fitting);
                if (missing.isEmpty()) {
                    exactLeaders++;
                    continue;
                }
                for (Object[] m : missing) {
                    if (queued.add(((Instance) m[0]).label() + "/" + m[1])) {
                        wave.add(m);
                    }
                }
            }
            if (wave.isEmpty()) {
                break;
            }
            wave.parallelStream().forEach(m -> simulateRole(s, (Instance) m[0], (Integer) m[1]));
        }
        for (Instance i : fitting) {
            if (i.exact(COLOCATED) && i.rate[COLOCATED] <= 0 && s.colocated()) {
                losers.add(new Candidate("colocated", i.label(), null, 0, 0, i.memory, null, null,
                        "SLOs missed even at the lowest simulated load"));
            }
        }
        double rate = s.targetRate();
        List<Candidate> ranked = new ArrayList<>();
        List<Candidate> rest = new ArrayList<>();
        double bestPer = cands.isEmpty() ? 0 : cands.getFirst().goodputPerDevice();
        for (Candidate c : cands) {
            if (c.reason() == null && ranked.size() < s.top() && !bounded.contains(c)) {
                ranked.add(c);
            } else if (c.reason() == null && bounded.contains(c)) {
                rest.add(c.withReason(String.format(Locale.ROOT,
                        "goodput at most %.3g req/s per device (closed-form bound), below the top %d; not simulated",
                        c.goodputPerDevice(), s.top())));
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
        return new Result(s, verified, allLosers, considered, (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Expert-parallel degrees to try for a TP x PP instance: 1, and for an MoE model every
     * {@code tp x 2^j} that divides its experts and fits the devices ({@code ep = tp}: experts over
     * the TP group; more: data-parallel attention groups, which may span nodes).
     */
    static List<Integer> expertDegrees(ModelSpec m, int tp, int pp, int maxDevices) {
        List<Integer> eps = new ArrayList<>(List.of(1));
        if (m.isMoe()) {
            for (int ep = tp > 1 ? tp : 2; ep * pp <= maxDevices && ep <= m.experts(); ep *= 2) {
                if (m.experts() % ep == 0) {
                    eps.add(ep);
                }
            }
        }
        return eps;
    }

    /** The roles of a candidate's instances not yet simulated, as (instance, role) pairs. */
    private static List<Object[]> missingRoles(Candidate c, List<Instance> fitting) {
        List<Object[]> out = new ArrayList<>();
        Deployment d = c.deployment();
        if (d.isDisaggregated()) {
            Instance p = find(fitting, d.precision(), d.layout());
            Instance q = find(fitting, d.precision(), d.decodeLayout());
            if (!p.exact(PREFILL)) {
                out.add(new Object[] {p, PREFILL});
            }
            if (!q.exact(DECODE)) {
                out.add(new Object[] {q, DECODE});
            }
        } else {
            Instance i = find(fitting, d.precision(), d.layout());
            if (!i.exact(COLOCATED)) {
                out.add(new Object[] {i, COLOCATED});
            }
        }
        return out;
    }

    private static Instance find(List<Instance> fitting, Precision p, Layout l) {
        for (Instance i : fitting) {
            if (i.precision == p && i.layout.tp() == l.tp() && i.layout.pp() == l.pp() && i.layout.ep() == l.ep()) {
                return i;
            }
        }
        throw new IllegalStateException("no instance " + p + " " + l);
    }

    /**
     * The colocated and disaggregated deployments the instances make, ranked by goodput per device
     * (simulated, or the bound where a role is not simulated yet; those go into {@code bounded}).
     */
    private static List<Candidate> candidates(Spec s, List<Instance> fitting, List<Candidate> bounded) {
        List<Candidate> cands = new ArrayList<>();
        double rate = s.targetRate();
        for (Instance i : fitting) {
            double colocatedRate = i.best(COLOCATED);
            if (s.colocated() && colocatedRate > 0) {
                int replicas = rate > 0 ? (int) Math.ceil(rate / colocatedRate) : s.maxDevices() / i.devices();
                Deployment d = Deployment.colocated(s.model(), i.precision, s.accelerator(),
                        new Layout(i.layout.tp(), i.layout.pp(), Math.max(1, replicas), i.layout.ep()), Math.max(1, replicas), s.limits());
                Candidate c = new Candidate("colocated", d.label(), d, colocatedRate / i.devices(),
                        colocatedRate * replicas, i.memory, null, null, null);
                if (replicas * i.devices() > s.maxDevices()) {
                    c = c.withReason(String.format(Locale.ROOT, "needs %d devices for %.3g req/s (one instance: %.3g req/s%s)",
                            replicas * i.devices(), rate, colocatedRate, i.exact(COLOCATED) ? "" : " at most"));
                } else if (replicas == 0) {
                    c = c.withReason("one instance needs more than --max-gpus devices");
                }
                cands.add(c);
                if (!i.exact(COLOCATED)) {
                    bounded.add(c);
                }
            }
        }
        if (s.disaggregated()) {
            for (Instance pi : fitting) {
                double pr = pi.best(PREFILL);
                if (pr <= 0) {
                    continue;
                }
                for (Instance di : fitting) {
                    double dr = di.best(DECODE);
                    if (di.precision != pi.precision || dr <= 0 || pi.devices() + di.devices() > s.maxDevices()) {
                        continue;
                    }
                    Candidate best = null;
                    for (int np = 1; np * pi.devices() + di.devices() <= s.maxDevices(); np++) {
                        for (int nd = 1; np * pi.devices() + nd * di.devices() <= s.maxDevices(); nd++) {
                            double g = Math.min(np * pr, nd * dr);
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
                                Deployment d = Deployment.disaggregated(s.model(), pi.precision, s.accelerator(),
                                        pi.layout, np, di.layout, nd, s.limits());
                                best = new Candidate("disaggregated", d.label(), d, per, g, pi.memory, di.memory,
                                        null, null);
                            }
                        }
                    }
                    if (best != null) {
                        cands.add(best);
                        if (!pi.exact(PREFILL) || !di.exact(DECODE)) {
                            bounded.add(best);
                        }
                    }
                }
            }
        }
        cands.sort(Comparator.comparing((Candidate c) -> c.reason() != null)
                .thenComparing(Comparator.comparingDouble(Candidate::goodputPerDevice).reversed())
                .thenComparing(c -> c.deployment().devices())
                .thenComparing(Candidate::label));
        return cands;
    }

    /** Mean and least prompt and output lengths of the requests the simulations draw. */
    private record Lengths(double meanPrompt, double meanOutput, int minPrompt, int minOutput) {
        static Lengths of(Spec s) {
            List<Workload.Spec> xs = Workloads.atRate(s.workload(), 1, Math.max(MAX_SAMPLE, s.simRequests())).generate();
            double p = 0;
            double o = 0;
            int minP = Integer.MAX_VALUE;
            int minO = Integer.MAX_VALUE;
            for (Workload.Spec x : xs) {
                p += x.prompt();
                o += x.output();
                minP = Math.min(minP, x.prompt());
                minO = Math.min(minO, x.output());
            }
            return new Lengths(p / xs.size(), o / xs.size(), minP, minO);
        }
    }

    /** The simulations behind one instance's rates: one per role, at a rate and a sample size. */
    private record Probes(Simulator.Config cfg, CostModel cost, int lanes, long blocks, int groups, double e2e,
                          SimResult alone) {

        static Probes of(Spec s, Precision p, Layout l) {
            Deployment one = Deployment.colocated(s.model(), p, s.accelerator(), l, 1, s.limits());
            long blocks = one.blocksPerLane(l);
            CostModel cost = new CostModel(s.model(), p, p.defaultKvPrecision(), s.accelerator(), l);
            Simulator.Config cfg = one.config(s.ttftSlo(), s.tpotSlo());
            int groups = l.attentionGroups();
            SimResult alone = Simulator.colocated(cfg, cost, l.pp(), blocks, groups, Workloads.atRate(s.workload(), 1e-6, 1));
            double e2e = alone.e2e().length > 0 ? alone.e2e()[0] : Double.NaN;
            return new Probes(cfg, cost, l.pp(), blocks, groups, e2e, alone);
        }

        /** Requests in a sample at rate r: it must span many request lifetimes, or a burst the system would not sustain looks fine. */
        int count(double r, int n) {
            return (int) Math.min(MAX_SAMPLE, Math.max(n, Math.ceil(r * 8 * e2e)));
        }

        DoubleFunction<SimResult> role(Spec s, int role) {
            Workload w = s.workload();
            int n = s.simRequests();
            return switch (role) {
                case COLOCATED -> r -> Simulator.colocated(cfg, cost, lanes, blocks, groups, Workloads.atRate(w, r, count(r, n)));
                case PREFILL -> {
                    Simulator.Config ttftOnly = new Simulator.Config(cfg.maxBatchedTokens(), cfg.maxSeqs(), cfg.blockSize(),
                            0, 0, s.ttftSlo(), Double.POSITIVE_INFINITY);
                    yield r -> Simulator.colocated(ttftOnly, cost, lanes, blocks, groups,
                            Workloads.promptsOnly(Workloads.atRate(w, r, count(r, n))));
                }
                default -> {
                    Simulator.Config tpotOnly = new Simulator.Config(cfg.maxBatchedTokens(), cfg.maxSeqs(), cfg.blockSize(),
                            0, 0, Double.POSITIVE_INFINITY, s.tpotSlo());
                    StepCost free = b -> 0;
                    yield r -> new Simulator(tpotOnly, List.of(
                            new Simulator.LaneGroup(Simulator.Role.PREFILL, 1, free, Long.MAX_VALUE / 4),
                            new Simulator.LaneGroup(Simulator.Role.DECODE, lanes, cost, blocks, groups)))
                            .run(Workloads.atRate(w, r, count(r, n)));
                }
            };
        }
    }

    /**
     * An instance with closed-form upper bounds on each role's rate: a lane cannot decode faster
     * than its best tokens per second at a batch whose step still meets the TPOT SLO (batch within
     * the sequence limit and the KV cache), nor prefill faster than a full token budget per step; a
     * role whose shortest request alone misses its SLO gets 0. Decode steps are costed at the mean
     * context a decoding sequence has (prompt + output / 2): a step's time is convex in the context
     * (a sum of maxima of linear terms), so by Jensen's inequality the mean step is no shorter.
     */
    private static Instance instance(Spec s, Lengths len, Precision p, Layout l, MemoryModel.Report mem) {
        Probes pr = Probes.of(s, p, l);
        double[] bound = new double[3];
        if (pr.e2e() > 0) {
            CostModel c = pr.cost();
            // the engine limits hold per attention group
            int budget = s.limits().maxBatchedTokens() * pr.groups();
            // prefill: the shortest prompt alone, and the best tokens per second at the full budget
            double firstToken = c.seconds(Batch.prefill(1, len.minPrompt()));
            Batch full = new Batch();
            for (int g = 0; g < pr.groups(); g++) {
                full.addPrefill(0, s.limits().maxBatchedTokens(), true);
            }
            double prefillTokensPerSecond = pr.lanes() * budget / c.seconds(full);
            double prefill = firstToken <= s.ttftSlo() ? prefillTokensPerSecond / len.meanPrompt() * BOUND_SLACK : 0;
            // decode: batches that still meet the TPOT SLO
            long kvTokens = pr.blocks() * pr.cfg().blockSize();
            int maxBatch = (int) Math.max(1, Math.min((long) s.limits().maxSeqs() * pr.groups(),
                    kvTokens / Math.max(1, len.minPrompt() + 1)));
            long context = Math.round(len.meanPrompt() + len.meanOutput() / 2);
            double alone = c.seconds(Batch.decodes(1, len.minPrompt() + 1));
            double best = 0;
            for (int b = 1; b <= maxBatch && alone <= s.tpotSlo(); b = b < maxBatch && b * 2 > maxBatch ? maxBatch : b * 2) {
                double t = c.seconds(Batch.decodes(b, context));
                if (t > s.tpotSlo()) {
                    break;
                }
                best = Math.max(best, b / t);
                if (b == maxBatch) {
                    break;
                }
            }
            double decode = pr.lanes() * best / len.meanOutput() * BOUND_SLACK;
            bound[PREFILL] = s.disaggregated() ? prefill : 0;
            bound[DECODE] = s.disaggregated() ? decode : 0;
            bound[COLOCATED] = s.colocated() ? Math.min(prefill, decode) : 0;
        }
        return new Instance(p, l, mem, pr, bound);
    }

    /** Simulates one role's highest rate (from half the bound, or the single-request rate, then bisection). */
    private static void simulateRole(Spec s, Instance i, int role) {
        double r = maxRate(i.probes.role(s, role), Math.max(1 / i.probes.e2e(), i.bound[role] / 2), s.attainment());
        synchronized (i) {
            i.rate[role] = r;
        }

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
