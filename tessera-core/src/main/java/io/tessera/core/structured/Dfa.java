package io.tessera.core.structured;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deterministic automaton over bytes, built eagerly from an {@link Nfa} by subset construction
 * over byte classes (bytes no edge tells apart share a column). Only live states are kept: every
 * state can still reach acceptance, so a walk that stays inside the automaton can always be
 * completed. Immutable and thread-safe.
 */
public final class Dfa implements ByteAutomaton {

    private final int[] byteClass = new int[256];
    private final int classes;
    private final int[] next;          // [state * classes + class] -> state or DEAD
    private final boolean[] accepting;
    private final boolean[] hasNext;
    private volatile int[] distances;

    private Dfa(int classes, int[] byteClass, int[] next, boolean[] accepting) {
        this.classes = classes;
        System.arraycopy(byteClass, 0, this.byteClass, 0, 256);
        this.next = next;
        this.accepting = accepting;
        this.hasNext = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            for (int c = 0; c < classes; c++) {
                hasNext[s] |= next[s * classes + c] != DEAD;
            }
        }
    }

    /** The start state is 0. */
    @Override
    public int start() {
        return 0;
    }

    @Override
    public int size() {
        return accepting.length;
    }

    @Override
    public int next(int state, int b) {
        return next[state * classes + byteClass[b & 0xFF]];
    }

    @Override
    public boolean accepting(int state) {
        return accepting[state];
    }

    @Override
    public boolean canContinue(int state) {
        return hasNext[state];
    }

    @Override
    public int minBytesToAccept(int state) {
        int[] d = distances;
        if (d == null) {
            d = new int[size()];
            java.util.Arrays.fill(d, Integer.MAX_VALUE);
            for (boolean changed = true; changed; ) {
                changed = false;
                for (int s = 0; s < d.length; s++) {
                    int best = accepting[s] ? 0 : d[s];
                    for (int c = 0; c < classes; c++) {
                        int t = next[s * classes + c];
                        if (t != DEAD && d[t] != Integer.MAX_VALUE && d[t] + 1 < best) {
                            best = d[t] + 1;
                        }
                    }
                    if (best < d[s]) {
                        d[s] = best;
                        changed = true;
                    }
                }
            }
            distances = d;
        }
        return d[state];
    }

    /** Whether the bytes are in the language. */
    public boolean matches(byte[] bytes) {
        int s = start();
        for (byte b : bytes) {
            s = next(s, b);
            if (s == DEAD) {
                return false;
            }
        }
        return accepting(s);
    }

    /**
     * Compiles a language.
     *
     * @throws ConstraintException beyond {@code maxNfaStates} or {@code maxDfaStates}, or when
     *     the language is empty
     */
    public static Dfa compile(Rx rx, int maxNfaStates, int maxDfaStates) {
        Nfa nfa = Nfa.of(rx, maxNfaStates);
        // subset construction costs states x classes x subset size: bounded as a whole as well
        long budget = (long) maxDfaStates * 64 * 256;
        long spent = 0;
        int[] byteClass = new int[256];
        int classes = byteClasses(nfa, byteClass);
        int[] representative = new int[classes];
        for (int b = 255; b >= 0; b--) {
            representative[byteClass[b]] = b;
        }
        Map<Key, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        List<int[]> rows = new ArrayList<>();
        int[] start = closure(nfa, new int[] {nfa.start});
        ids.put(new Key(start), 0);
        sets.add(start);
        ArrayDeque<Integer> work = new ArrayDeque<>();
        work.add(0);
        BitSet targets = new BitSet(nfa.size());
        while (!work.isEmpty()) {
            int id = work.poll();
            int[] set = sets.get(id);
            int[] row = new int[classes];
            for (int c = 0; c < classes; c++) {
                targets.clear();
                int b = representative[c];
                spent += set.length;
                if (spent > budget) {
                    throw new ConstraintException("the constraint is too complex to compile (its automaton's"
                            + " states overlap too much)");
                }
                for (int s : set) {
                    Rx.Bytes[] edgeSets = nfa.byteSets.get(s);
                    int[] edgeTargets = nfa.byteTargets.get(s);
                    for (int e = 0; e < edgeSets.length; e++) {
                        if (edgeSets[e].contains(b)) {
                            targets.set(edgeTargets[e]);
                        }
                    }
                }
                if (targets.isEmpty()) {
                    row[c] = DEAD;
                    continue;
                }
                int[] to = closure(nfa, targets.stream().toArray());
                Key key = new Key(to);
                Integer t = ids.get(key);
                if (t == null) {
                    if (sets.size() >= maxDfaStates) {
                        throw new ConstraintException("the constraint is too complex: its automaton would need more"
                                + " than " + maxDfaStates + " states");
                    }
                    t = sets.size();
                    ids.put(key, t);
                    sets.add(to);
                    work.add(t);
                }
                row[c] = t;
            }
            while (rows.size() <= id) {
                rows.add(null);
            }
            rows.set(id, row);
        }
        int n = sets.size();
        boolean[] accepting = new boolean[n];
        for (int s = 0; s < n; s++) {
            accepting[s] = Arrays.binarySearch(sets.get(s), nfa.accept) >= 0;
        }
        return trim(n, classes, byteClass, rows, accepting);
    }

    /** Keeps the states from which acceptance is reachable, renumbered with the start first. */
    private static Dfa trim(int n, int classes, int[] byteClass, List<int[]> rows, boolean[] accepting) {
        List<List<Integer>> reverse = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            reverse.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int t : rows.get(s)) {
                if (t != DEAD) {
                    reverse.get(t).add(s);
                }
            }
        }
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> work = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (accepting[s]) {
                live[s] = true;
                work.add(s);
            }
        }
        while (!work.isEmpty()) {
            for (int p : reverse.get(work.poll())) {
                if (!live[p]) {
                    live[p] = true;
                    work.add(p);
                }
            }
        }
        if (!live[0]) {
            throw new ConstraintException("the constraint admits no output at all");
        }
        int[] renumber = new int[n];
        int m = 0;
        for (int s = 0; s < n; s++) {
            renumber[s] = live[s] ? m++ : DEAD;
        }
        int[] next = new int[m * classes];
        boolean[] acc = new boolean[m];
        for (int s = 0; s < n; s++) {
            if (!live[s]) {
                continue;
            }
            int[] row = rows.get(s);
            for (int c = 0; c < classes; c++) {
                next[renumber[s] * classes + c] = row[c] == DEAD ? DEAD : renumber[row[c]];
            }
            acc[renumber[s]] = accepting[s];
        }
        return new Dfa(classes, byteClass, next, acc);
    }

    /** Partitions the bytes by which edge sets hold them; returns the number of classes. */
    static int byteClasses(Nfa nfa, int[] byteClass) {
        Map<Rx.Bytes, Boolean> seen = new IdentityHashMap<>();
        Map<Rx.Bytes, Boolean> distinct = new HashMap<>();
        for (Rx.Bytes[] sets : nfa.byteSets) {
            for (Rx.Bytes s : sets) {
                if (seen.put(s, Boolean.TRUE) == null) {
                    distinct.put(s, Boolean.TRUE);
                }
            }
        }
        int classes = 1;
        for (Rx.Bytes s : distinct.keySet()) {
            Map<Long, Integer> split = new HashMap<>();
            int[] renamed = new int[256];
            for (int b = 0; b < 256; b++) {
                long sig = ((long) byteClass[b] << 1) | (s.contains(b) ? 1 : 0);
                Integer c = split.get(sig);
                if (c == null) {
                    c = split.size();
                    split.put(sig, c);
                }
                renamed[b] = c;
            }
            System.arraycopy(renamed, 0, byteClass, 0, 256);
            classes = split.size();
        }
        return classes;
    }

    /** The sorted set of states reachable from {@code seeds} by empty edges. */
    private static int[] closure(Nfa nfa, int[] seeds) {
        BitSet in = new BitSet(nfa.size());
        ArrayDeque<Integer> work = new ArrayDeque<>();
        for (int s : seeds) {
            if (!in.get(s)) {
                in.set(s);
                work.add(s);
            }
        }
        while (!work.isEmpty()) {
            for (int t : nfa.epsilons.get(work.poll())) {
                if (!in.get(t)) {
                    in.set(t);
                    work.add(t);
                }
            }
        }
        // only states with byte edges, and the final state, tell subsets apart
        return in.stream().filter(s -> nfa.byteSets.get(s).length > 0 || s == nfa.accept).toArray();
    }

    private record Key(int[] states) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(k.states, states);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(states);
        }
    }
}
