package io.tessera.planner.sim;

import io.tessera.planner.cost.Batch;
import io.tessera.planner.cost.StepCost;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A discrete-event simulation of a serving system. Each lane is one engine loop (a replica, or one
 * of a pipeline's {@code pp} interleaved batches) running continuous batching with chunked prefill:
 * every step takes the running sequences' decodes and prompt chunks, then admits waiting requests
 * in arrival order while the token budget, the sequence limit and the free KV blocks allow; a
 * decode that needs a block when none is free preempts the most recently admitted sequence, which
 * later recomputes its prompt and the tokens it had generated. Prefill/decode disaggregation uses
 * prefill lanes (which emit the first token and hand the KV cache over after a transfer delay) and
 * decode lanes. Everything is deterministic: no randomness beyond the workload's seed.
 */
public final class Simulator {

    public enum Role { COLOCATED, PREFILL, DECODE }

    /**
     * One group of identical lanes. {@code attentionGroups} is how many data-parallel attention
     * groups share each lane's steps (expert parallelism): each schedules its own sequences under
     * the engine limits, so the lane's step takes that many times the limits.
     */
    public record LaneGroup(Role role, int lanes, StepCost cost, long kvBlocksPerLane, int attentionGroups) {
        public LaneGroup {
            if (attentionGroups < 1) {
                throw new IllegalArgumentException("attention groups must be at least 1");
            }
        }

        public LaneGroup(Role role, int lanes, StepCost cost, long kvBlocksPerLane) {
            this(role, lanes, cost, kvBlocksPerLane, 1);
        }
    }

    /** Engine limits and the KV hand-over of disaggregated serving. */
    public record Config(int maxBatchedTokens, int maxSeqs, int blockSize, double transferSecondsPerToken,
                         double transferLatency, double ttftSlo, double tpotSlo) {
        public Config {
            if (maxBatchedTokens < 1 || maxSeqs < 1 || blockSize < 1) {
                throw new IllegalArgumentException("max batched tokens, max sequences and block size must be positive");
            }
        }

        public static Config defaults(double ttftSlo, double tpotSlo) {
            return new Config(2048, 256, 16, 0, 0, ttftSlo, tpotSlo);
        }

        public Config withLimits(int tokens, int seqs) {
            return new Config(tokens, seqs, blockSize, transferSecondsPerToken, transferLatency, ttftSlo, tpotSlo);
        }

        public Config withTransfer(double perToken, double latency) {
            return new Config(maxBatchedTokens, maxSeqs, blockSize, perToken, latency, ttftSlo, tpotSlo);
        }
    }

    private static final class Req {
        final int id;
        final double arrival;
        final int prompt;
        final int output;
        int target; // tokens to (re)compute before sampling: prompt, or prompt + generated after preemption
        int len; // tokens whose KV is cached
        int generated;
        int blocks;
        double firstToken = Double.NaN;
        double finish = Double.NaN;
        boolean kvReady; // arrived at a decode lane with its cache

        Req(int id, double arrival, int prompt, int output) {
            this.id = id;
            this.arrival = arrival;
            this.prompt = prompt;
            this.output = output;
            this.target = prompt;
        }
    }

    private final class Lane {
        final Role role;
        final StepCost cost;
        final long totalBlocks;
        long freeBlocks;
        final ArrayDeque<Req> waiting = new ArrayDeque<>();
        final ArrayList<Req> running = new ArrayList<>();
        boolean busy;
        final Batch batch = new Batch();
        final ArrayList<Req> scheduled = new ArrayList<>();
        final ArrayList<Integer> chunks = new ArrayList<>();
        final int maxBatchedTokens;
        final int maxSeqs;

        Lane(Role role, StepCost cost, long blocks, int attentionGroups) {
            this.role = role;
            this.cost = cost;
            this.totalBlocks = blocks;
            this.freeBlocks = blocks;
            this.maxBatchedTokens = cfg.maxBatchedTokens() * attentionGroups;
            this.maxSeqs = cfg.maxSeqs() * attentionGroups;
        }

        int load() {
            return running.size() + waiting.size();
        }
    }

    private record Event(double time, long seq, int kind, int lane, Req req) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Double.compare(time, o.time);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private static final int ARRIVAL = 0;
    private static final int STEP_DONE = 1;
    private static final int HANDOVER = 2;

    private final Config cfg;
    private final List<Lane> lanes = new ArrayList<>();
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long seq;
    private long preemptions;
    private long steps;
    private int rejected;
    private final List<Req> done = new ArrayList<>();

    public Simulator(Config cfg, List<LaneGroup> groups) {
        this.cfg = cfg;
        boolean prefill = false;
        boolean decode = false;
        for (LaneGroup g : groups) {
            for (int i = 0; i < g.lanes(); i++) {
                lanes.add(new Lane(g.role(), g.cost(), g.kvBlocksPerLane(), g.attentionGroups()));
            }
            prefill |= g.role() == Role.PREFILL;
            decode |= g.role() == Role.DECODE;
        }
        if (lanes.isEmpty() || prefill != decode) {
            throw new IllegalArgumentException("need colocated lanes, or both prefill and decode lanes");
        }
    }

    /** Colocated serving on {@code lanes} identical lanes. */
    public static SimResult colocated(Config cfg, StepCost cost, int lanes, long kvBlocksPerLane, Workload w) {
        return colocated(cfg, cost, lanes, kvBlocksPerLane, 1, w);
    }

    /** Colocated serving on {@code lanes} identical lanes of {@code attentionGroups} attention groups each. */
    public static SimResult colocated(Config cfg, StepCost cost, int lanes, long kvBlocksPerLane, int attentionGroups,
                                      Workload w) {
        return new Simulator(cfg, List.of(new LaneGroup(Role.COLOCATED, lanes, cost, kvBlocksPerLane, attentionGroups))).run(w);
    }

    public SimResult run(Workload w) {
        List<Workload.Spec> specs = w.generate();
        int issued = 0;
        if (w.closedLoop()) {
            for (; issued < Math.min(w.concurrency(), specs.size()); issued++) {
                Workload.Spec s = specs.get(issued);
                push(0, ARRIVAL, -1, new Req(issued, 0, s.prompt(), s.output()));
            }
        } else {
            for (; issued < specs.size(); issued++) {
                Workload.Spec s = specs.get(issued);
                push(s.arrival(), ARRIVAL, -1, new Req(issued, s.arrival(), s.prompt(), s.output()));
            }
        }
        double firstArrival = specs.isEmpty() ? 0 : specs.getFirst().arrival();
        double end = firstArrival;
        while (!events.isEmpty()) {
            Event e = events.poll();
            double t = e.time();
            switch (e.kind()) {
                case ARRIVAL -> arrive(e.req(), t, firstRole());
                case HANDOVER -> arrive(e.req(), t, Role.DECODE);
                default -> {
                    int before = done.size();
                    finishStep(lanes.get(e.lane()), t);
                    if (w.closedLoop()) {
                        for (int k = before; k < done.size() && issued < specs.size(); k++) {
                            Workload.Spec s = specs.get(issued);
                            push(t, ARRIVAL, -1, new Req(issued, t, s.prompt(), s.output()));
                            issued++;
                        }
                    }
                }
            }
            end = Math.max(end, t);
            for (int i = 0; i < lanes.size(); i++) {
                Lane l = lanes.get(i);
                if (!l.busy) {
                    startStep(i, l, t);
                }
            }
        }
        return result(specs.size(), end - firstArrival);
    }

    private Role firstRole() {
        return lanes.getFirst().role == Role.COLOCATED ? Role.COLOCATED : Role.PREFILL;
    }

    private void push(double t, int kind, int lane, Req r) {
        events.add(new Event(t, seq++, kind, lane, r));
    }

    private long blocksFor(long tokens) {
        return (tokens + cfg.blockSize() - 1) / cfg.blockSize();
    }

    private void arrive(Req r, double t, Role role) {
        Lane best = null;
        for (Lane l : lanes) {
            if (l.role == role && (best == null || l.load() < best.load())) {
                best = l;
            }
        }
        long need = role == Role.PREFILL ? blocksFor(r.prompt) : blocksFor((long) r.prompt + r.output);
        if (best == null || need > best.totalBlocks) {
            rejected++;
            return;
        }
        if (role == Role.DECODE) {
            r.kvReady = true;
        }
        best.waiting.add(r);
    }

    private void startStep(int index, Lane l, double t) {
        Batch b = l.batch.clear();
        l.scheduled.clear();
        l.chunks.clear();
        int budget = l.maxBatchedTokens;
        for (int i = 0; i < l.running.size() && budget > 0; i++) {
            Req r = l.running.get(i);
            int chunk = r.len < r.target ? Math.min(r.target - r.len, budget) : 1;
            long need = blocksFor((long) r.len + chunk) - r.blocks;
            while (need > l.freeBlocks) {
                Req victim = l.running.removeLast();
                preempt(l, victim);
                if (victim == r) {
                    break;
                }
            }
            if (i >= l.running.size() || l.running.get(i) != r) {
                break;
            }
            l.freeBlocks -= need;
            r.blocks += (int) need;
            schedule(l, b, r, chunk);
            budget -= chunk;
        }
        while (budget > 0 && l.running.size() < l.maxSeqs && !l.waiting.isEmpty()) {
            Req r = l.waiting.peekFirst();
            int chunk;
            long need;
            if (r.kvReady) {
                chunk = 1;
                need = blocksFor((long) r.target + 1);
            } else {
                chunk = Math.min(r.target - r.len, budget);
                need = blocksFor((long) r.len + chunk) - r.blocks;
            }
            if (need > l.freeBlocks) {
                break;
            }
            l.waiting.pollFirst();
            if (r.kvReady) {
                r.kvReady = false;
                r.len = r.target;
            }
            l.freeBlocks -= need;
            r.blocks += (int) need;
            l.running.add(r);
            schedule(l, b, r, chunk);
            budget -= chunk;
        }
        if (b.isEmpty()) {
            return;
        }
        l.busy = true;
        steps++;
        push(t + l.cost.seconds(b), STEP_DONE, index, null);
    }

    private void schedule(Lane l, Batch b, Req r, int chunk) {
        if (r.len < r.target) {
            b.addPrefill(r.len, chunk, r.len + chunk == r.target);
        } else {
            b.addDecode((long) r.len + 1);
        }
        l.scheduled.add(r);
        l.chunks.add(chunk);
    }

    private void preempt(Lane l, Req r) {
        preemptions++;
        l.freeBlocks += r.blocks;
        r.blocks = 0;
        r.len = 0;
        r.target = r.prompt + r.generated;
        l.waiting.addFirst(r);
    }

    private void finishStep(Lane l, double t) {
        l.busy = false;
        for (int i = 0; i < l.scheduled.size(); i++) {
            Req r = l.scheduled.get(i);
            int chunk = l.chunks.get(i);
            boolean wasPrefill = r.len < r.target;
            r.len += chunk;
            if (wasPrefill && r.len < r.target) {
                continue;
            }
            r.generated++;
            if (r.generated == 1) {
                r.firstToken = t;
            }
            if (r.generated >= r.output) {
                r.finish = t;
                release(l, r);
                done.add(r);
            } else if (l.role == Role.PREFILL) {
                release(l, r);
                double delay = cfg.transferLatency() + cfg.transferSecondsPerToken() * r.len;
                r.target = r.len;
                push(t + delay, HANDOVER, -1, r);
            }
        }
    }

    private void release(Lane l, Req r) {
        l.running.remove(r);
        l.freeBlocks += r.blocks;
        r.blocks = 0;
    }

    private SimResult result(int offered, double makespan) {
        int n = done.size();
        double[] ttft = new double[n];
        double[] e2e = new double[n];
        double[] tpotAll = new double[n];
        int nt = 0;
        long out = 0;
        long in = 0;
        int met = 0;
        for (int i = 0; i < n; i++) {
            Req r = done.get(i);
            ttft[i] = r.firstToken - r.arrival;
            e2e[i] = r.finish - r.arrival;
            double tpot = r.output > 1 ? (r.finish - r.firstToken) / (r.output - 1) : 0;
            if (r.output > 1) {
                tpotAll[nt++] = tpot;
            }
            out += r.output;
            in += r.prompt;
            if (ttft[i] <= cfg.ttftSlo() && tpot <= cfg.tpotSlo()) {
                met++;
            }
        }
        return new SimResult(offered, n, rejected, preemptions, steps, makespan, ttft,
                java.util.Arrays.copyOf(tpotAll, nt), e2e, out, in, met, cfg.ttftSlo(), cfg.tpotSlo());
    }
}
