package io.tessera.core.shard;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which expert-parallel rank holds which experts of each layer, and where a token's row goes.
 *
 * <p>Without replicas ({@link #contiguous}) rank r holds experts {@code [r·E/R, (r+1)·E/R)}. With
 * replicas ({@link #balanced}) a hot expert is held by several ranks: a token whose home rank holds
 * its expert is computed at home (no traffic), else by the holder {@code holders[token mod count]}.
 * Every holder has the expert's full weights, so the row's result is the same bits wherever it is
 * computed.
 */
public final class ExpertPlacement {

    private final int ranks;
    private final int experts;
    /** [layer][expert] → the ranks holding it, ascending (dense layers have an entry that is never asked). */
    private final int[][][] holders;

    private ExpertPlacement(int ranks, int experts, int[][][] holders) {
        this.ranks = ranks;
        this.experts = experts;
        this.holders = holders;
    }

    /** Each rank holds a contiguous range of every sparse layer's experts, no replicas. */
    public static ExpertPlacement contiguous(int layers, int experts, int ranks) {
        check(experts, ranks);
        int[][][] h = new int[layers][experts][];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < experts; e++) {
                h[l][e] = new int[] {(int) ((long) e * ranks / experts)};
            }
        }
        return new ExpertPlacement(ranks, experts, h);
    }

    /** A placement given as [layer][expert] → holding ranks (the plan's JSON form); checked. */
    public static ExpertPlacement of(int ranks, int experts, int[][][] holders) {
        check(experts, ranks);
        for (int l = 0; l < holders.length; l++) {
            if (holders[l].length != experts) {
                throw new IllegalArgumentException("expert placement: layer " + l + " names " + holders[l].length
                        + " experts, the model has " + experts);
            }
            for (int e = 0; e < experts; e++) {
                int[] r = holders[l][e];
                if (r == null || r.length == 0) {
                    throw new IllegalArgumentException("expert placement: expert " + e + " of layer " + l
                            + " is held by no rank");
                }
                for (int i = 0; i < r.length; i++) {
                    if (r[i] < 0 || r[i] >= ranks || (i > 0 && r[i] <= r[i - 1])) {
                        throw new IllegalArgumentException("expert placement: expert " + e + " of layer " + l
                                + " names ranks " + Arrays.toString(r) + ", expected ascending ranks below " + ranks);
                    }
                }
            }
        }
        return new ExpertPlacement(ranks, experts, holders);
    }

    private static void check(int experts, int ranks) {
        if (ranks < 1 || experts < ranks) {
            throw new IllegalArgumentException("expert parallelism " + ranks + " needs at least as many experts, the "
                    + "model has " + experts);
        }
    }

    /**
     * A placement for a measured load (in the spirit of DeepSeek's EPLB): every rank gets
     * {@code ceil(E/R) + extraSlots} expert slots; the slots beyond one per expert go, one by one, to
     * the expert with the most tokens per replica; then replicas, heaviest first, go to the rank
     * with the least load that has a free slot and not yet that expert.
     *
     * @param load [layer][expert] token counts (a layer of zeros, or a dense layer, gets the contiguous placement)
     */
    public static ExpertPlacement balanced(long[][] load, int experts, int ranks, int extraSlots) {
        check(experts, ranks);
        if (extraSlots < 0) {
            throw new IllegalArgumentException("expert replica slots per rank must be 0 or more, got " + extraSlots);
        }
        int slots = (experts + ranks - 1) / ranks + extraSlots;
        int[][][] h = contiguous(load.length, experts, ranks).holders;
        for (int l = 0; l < load.length; l++) {
            long[] c = load[l];
            if (c == null || Arrays.stream(c).sum() == 0) {
                continue;
            }
            if (c.length != experts) {
                throw new IllegalArgumentException("expert load: layer " + l + " counts " + c.length
                        + " experts, the model has " + experts);
            }
            int[] copies = new int[experts];
            Arrays.fill(copies, 1);
            int spare = Math.min(slots * ranks - experts, experts * (ranks - 1));
            for (int i = 0; i < spare; i++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (copies[e] < ranks && (best < 0 || (double) c[e] / copies[e] > (double) c[best] / copies[best])) {
                        best = e;
                    }
                }
                copies[best]++;
            }
            Integer[] order = new Integer[experts];
            for (int e = 0; e < experts; e++) {
                order[e] = e;
            }
            Arrays.sort(order, (a, b) -> Double.compare((double) c[b] / copies[b], (double) c[a] / copies[a]));
            double[] rankLoad = new double[ranks];
            int[] used = new int[ranks];
            List<List<Integer>> held = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                held.add(new ArrayList<>());
            }
            for (int e : order) {
                for (int copy = 0; copy < copies[e]; copy++) {
                    int best = -1;
                    for (int r = 0; r < ranks; r++) {
                        if (used[r] < slots && !held.get(e).contains(r) && (best < 0 || rankLoad[r] < rankLoad[best])) {
                            best = r;
                        }
                    }
                    held.get(e).add(best);
                    used[best]++;
                    rankLoad[best] += (double) c[e] / copies[e];
                }
            }
            for (int e = 0; e < experts; e++) {
                h[l][e] = held.get(e).stream().mapToInt(Integer::intValue).sorted().toArray();
            }
        }
        return new ExpertPlacement(ranks, experts, h);
    }

    public int ranks() {
        return ranks;
    }

    public int experts() {
        return experts;
    }

    public int layers() {
        return holders.length;
    }

    /** The ranks holding expert {@code e} of {@code layer}, ascending. */
    public int[] holders(int layer, int e) {
        return holders[layer][e].clone();
    }

    public boolean holds(int layer, int e, int rank) {
        return Arrays.binarySearch(holders[layer][e], rank) >= 0;
    }

    /** The rank that computes token {@code token} (index in its home's step) of home rank {@code home} for expert e. */
    public int target(int layer, int e, int home, int token) {
        int[] r = holders[layer][e];
        if (r.length == 1) {
            return r[0];
        }
        if (Arrays.binarySearch(r, home) >= 0) {
            return home;
        }
        return r[Math.floorMod(token, r.length)];
    }

    /** Experts each rank holds in {@code layer}, counting replicas. */
    public int[] slotsPerRank(int layer) {
        int[] n = new int[ranks];
        for (int[] r : holders[layer]) {
            for (int x : r) {
                n[x]++;
            }
        }
        return n;
    }

    /**
     * The imbalance of {@code layer} under a load: the tokens each rank computes (an expert's tokens
     * split evenly over its holders), the largest over the mean. 1 is perfect; 0 without load.
     */
    public double imbalance(int layer, long[] load) {
        double[] perRank = new double[ranks];
        double total = 0;
        for (int e = 0; e < experts; e++) {
            int[] r = holders[layer][e];
            for (int x : r) {
                perRank[x] += (double) load[e] / r.length;
            }
            total += load[e];
        }
        if (total == 0) {
            return 0;
        }
        return Arrays.stream(perRank).max().orElse(0) / (total / ranks);
    }

    /** The [layer][expert] → ranks table (the plan's JSON form). */
    public int[][][] table() {
        int[][][] t = new int[holders.length][][];
        for (int l = 0; l < t.length; l++) {
            t[l] = new int[experts][];
            for (int e = 0; e < experts; e++) {
                t[l][e] = holders[l][e].clone();
            }
        }
        return t;
    }
}
