package io.tessera.core.structured;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * A grammar with recursive rules as a deterministic automaton over bytes whose states are built
 * as texts reach them. Each rule is a Thompson automaton ({@link Nfa#ofRules}) whose call edges
 * enter another rule and return once it is complete. A parser configuration is the set of items
 * (automaton state, call stack) that the text so far can be in, closed under empty moves, calls
 * and returns (so an item's state always reads a byte next); stacks are interned frames (return
 * state, parent). Each distinct configuration is one state of this automaton, and its transitions
 * are computed on first use and kept, so walking the vocabulary's trie costs what it costs on a
 * {@link Dfa} once the states are known, and masks are cached per configuration as for a DFA.
 *
 * <p>A call whose return state can only end its rule (a tail call, as in right recursion such as
 * {@code list ::= item list | item}) pushes no frame: returning there would pop at once. So right
 * recursion runs in constant stack, and an item with the empty stack is complete whichever
 * rule it is in.
 *
 * <p>Invariants: only states from which the rule's end can be reached (through rules that derive
 * some text) are kept, so every configuration reached can still be completed; left recursion is
 * refused at construction, so closure terminates. Budgets bound a hostile grammar or text: calls
 * nest at most {@link #MAX_STACK_DEPTH} deep, a configuration holds at most {@link #MAX_ITEMS}
 * items, and at most {@link #MAX_CONFIGURATIONS} configurations and {@link #MAX_FRAMES} stack
 * frames are built. A byte whose configuration would exceed them is refused (the text cannot go
 * that way), the same way for the mask and for the sampled token. Thread-safe: transitions
 * already known are read without locking; building is serialized.
 */
public final class PushdownAutomaton implements ByteAutomaton {
    /** Rule calls open at once at most: deeper nesting is not followed. */
    public static final int MAX_STACK_DEPTH = 256;
    /** Items in one configuration at most. */
    public static final int MAX_ITEMS = 4096;
    /** Configurations (states) built per grammar at most. */
    public static final int MAX_CONFIGURATIONS = 20_000;
    /** Stack frames built per grammar at most. */
    public static final int MAX_FRAMES = 200_000;

    private static final int UNREACHABLE = Integer.MAX_VALUE / 4;

    private final Nfa nfa;
    private final int[] byteClass = new int[256];
    private final int classes;
    private final int[] representative;
    private final int[] distance;       // per automaton state: fewest bytes to its rule's end
    private final int[] ruleOfAccept;   // per automaton state: the rule it ends, or -1
    private final boolean[] tail;       // per automaton state: it can only end its rule, reading nothing

    // stack frames; frame 0 is the empty stack
    private int[] frameReturn = new int[64];
    private int[] frameParent = new int[64];
    private int[] frameDepth = new int[64];
    private int[] frameCost = new int[64];  // fewest bytes to finish every rule on the stack
    private int frames = 1;
    private final Map<Long, Integer> frameIds = new HashMap<>();

    // configurations
    private final List<long[]> items = new ArrayList<>();
    private boolean[] accepting = new boolean[64];
    private final Map<Configuration, Integer> configurationIds = new HashMap<>();
    /** Per configuration, per byte class: 0 unknown, 1 refused, else target + 2. */
    private volatile int[][] rows = new int[64][];

    PushdownAutomaton(Nfa nfa, List<String> ruleNames, String field) {
        this.nfa = nfa;
        this.classes = Dfa.byteClasses(nfa, byteClass);
        this.representative = new int[classes];
        for (int b = 255; b >= 0; b--) {
            representative[byteClass[b]] = b;
        }
        this.ruleOfAccept = new int[nfa.size()];
        Arrays.fill(ruleOfAccept, -1);
        for (int r = 0; r < nfa.ruleAccept.length; r++) {
            ruleOfAccept[nfa.ruleAccept[r]] = r;
        }
        this.distance = distances();
        this.tail = tailStates();
        refuseLeftRecursion(ruleNames, field);
        if (distance[nfa.ruleStart[0]] >= UNREACHABLE) {
            throw new ConstraintException(field + ": the grammar admits no text at all (rule '" + ruleNames.get(0)
                    + "' never ends)");
        }
        int start;
        synchronized (this) {
            start = transition(new long[] {item(nfa.ruleStart[0], 0)}, false);
        }
        if (start != 0) {
            throw new ConstraintException(field + ": the grammar's start is over the parser's limits");
        }
    }

    @Override
    public int start() {
        return 0;
    }

    @Override
    public int next(int state, int b) {
        int[][] r = rows;
        if (state >= 0 && state < r.length) {
            int[] row = r[state];
            if (row != null) {
                int v = row[byteClass[b & 0xFF]];
                if (v != 0) {
                    return v - 2;
                }
            }
        }
        return slowNext(state, b);
    }

    private synchronized int slowNext(int state, int b) {
        if (state < 0 || state >= items.size()) {
            return DEAD;
        }
        int c = byteClass[b & 0xFF];
        int[] row = rows[state];
        if (row[c] == 0) {
            row[c] = step(state, representative[c]) + 2;
        }
        return row[c] - 2;
    }

    @Override
    public synchronized boolean accepting(int state) {
        return accepting[state];
    }

    @Override
    public synchronized boolean canContinue(int state) {
        return items.get(state).length > 0;
    }

    @Override
    public synchronized int size() {
        return items.size();
    }

    @Override
    public synchronized int minBytesToAccept(int state) {
        if (accepting[state]) {
            return 0;
        }
        long best = UNREACHABLE;
        for (long it : items.get(state)) {
            best = Math.min(best, (long) distance[stateOf(it)] + frameCost[stackOf(it)]);
        }
        return (int) Math.min(best, UNREACHABLE);
    }

    private static long item(int state, int stack) {
        return ((long) state << 32) | stack;
    }

    private static int stateOf(long item) {
        return (int) (item >>> 32);
    }

    private static int stackOf(long item) {
        return (int) item;
    }

    /** The configuration after byte {@code b}, or DEAD. */
    private int step(int state, int b) {
        List<Long> moved = new ArrayList<>();
        for (long it : items.get(state)) {
            int s = stateOf(it);
            Rx.Bytes[] sets = nfa.byteSets.get(s);
            int[] targets = nfa.byteTargets.get(s);
            for (int e = 0; e < sets.length; e++) {
                if (sets[e].contains(b)) {
                    moved.add(item(targets[e], stackOf(it)));
                }
            }
        }
        if (moved.isEmpty()) {
            return DEAD;
        }
        return transition(moved.stream().mapToLong(Long::longValue).toArray(), true);
    }

    /**
     * Closes {@code seeds} and interns the configuration; DEAD when it is empty or over a budget.
     * The start configuration is the one built with {@code mayBeEmpty} false.
     */
    private int transition(long[] seeds, boolean mayBeEmpty) {
        Set<Long> seen = new HashSet<>();
        ArrayDeque<Long> work = new ArrayDeque<>();
        List<Long> reading = new ArrayList<>();
        boolean accepts = false;
        for (long s : seeds) {
            if (seen.add(s)) {
                work.add(s);
            }
        }
        while (!work.isEmpty()) {
            if (seen.size() > 4 * MAX_ITEMS) {
                return DEAD;
            }
            long it = work.poll();
            int s = stateOf(it);
            int k = stackOf(it);
            if (distance[s] >= UNREACHABLE) {
                continue;
            }
            if (nfa.byteSets.get(s).length > 0) {
                reading.add(it);
            }
            for (int t : nfa.epsilons.get(s)) {
                if (seen.add(item(t, k))) {
                    work.add(item(t, k));
                }
            }
            int[] calls = nfa.calls.get(s);
            for (int i = 0; i < calls.length; i += 2) {
                int rule = calls[i];
                int ret = calls[i + 1];
                if (distance[ret] >= UNREACHABLE || distance[nfa.ruleStart[rule]] >= UNREACHABLE
                        || (!tail[ret] && frameDepth[k] >= MAX_STACK_DEPTH)) {
                    continue;
                }
                int pushed = tail[ret] ? k : frame(ret, k);
                if (pushed < 0) {
                    return DEAD;
                }
                if (seen.add(item(nfa.ruleStart[rule], pushed))) {
                    work.add(item(nfa.ruleStart[rule], pushed));
                }
            }
            if (ruleOfAccept[s] >= 0) {
                if (k == 0) {
                    accepts = true; // the root's end, or a rule's that the root reached by tail calls
                } else if (seen.add(item(frameReturn[k], frameParent[k]))) {
                    work.add(item(frameReturn[k], frameParent[k]));
                }
            }
        }
        if (reading.size() > MAX_ITEMS || (reading.isEmpty() && !accepts && mayBeEmpty)) {
            return DEAD;
        }
        long[] sorted = reading.stream().mapToLong(Long::longValue).sorted().toArray();
        Configuration key = new Configuration(sorted, accepts);
        Integer id = configurationIds.get(key);
        if (id != null) {
            return id;
        }
        if (items.size() >= MAX_CONFIGURATIONS) {
            return DEAD;
        }
        int n = items.size();
        items.add(sorted);
        configurationIds.put(key, n);
        if (n >= accepting.length) {
            accepting = Arrays.copyOf(accepting, n * 2);
        }
        accepting[n] = accepts;
        int[][] r = rows;
        if (n >= r.length) {
            r = Arrays.copyOf(r, n * 2);
        }
        r[n] = new int[classes];
        rows = r; // published after the row exists
        return n;
    }

    /** The interned frame (return state over parent), or -1 over the budget. */
    private int frame(int ret, int parent) {
        long key = item(ret, parent);
        Integer id = frameIds.get(key);
        if (id != null) {
            return id;
        }
        if (frames >= MAX_FRAMES) {
            return -1;
        }
        if (frames == frameReturn.length) {
            int size = frames * 2;
            frameReturn = Arrays.copyOf(frameReturn, size);
            frameParent = Arrays.copyOf(frameParent, size);
            frameDepth = Arrays.copyOf(frameDepth, size);
            frameCost = Arrays.copyOf(frameCost, size);
        }
        int f = frames++;
        frameReturn[f] = ret;
        frameParent[f] = parent;
        frameDepth[f] = frameDepth[parent] + 1;
        frameCost[f] = (int) Math.min(UNREACHABLE, (long) distance[ret] + frameCost[parent]);
        frameIds.put(key, f);
        return f;
    }

    /**
     * States whose empty moves lead only to their rule's end: no byte, no call on the way (the
     * least fixed point, found backwards from the ends along empty edges; linear in the edges).
     */
    private boolean[] tailStates() {
        int n = nfa.size();
        List<List<Integer>> into = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            into.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int t : nfa.epsilons.get(s)) {
                into.get(t).add(s);
            }
        }
        boolean[] tail = new boolean[n];
        ArrayDeque<Integer> work = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (ruleOfAccept[s] >= 0 && isTail(s, tail)) {
                tail[s] = true;
                work.add(s);
            }
        }
        while (!work.isEmpty()) {
            for (int p : into.get(work.poll())) {
                if (!tail[p] && isTail(p, tail)) {
                    tail[p] = true;
                    work.add(p);
                }
            }
        }
        return tail;
    }

    /** Reads nothing, and every empty move that can still end goes to a tail state. */
    private boolean isTail(int s, boolean[] tail) {
        if (nfa.byteSets.get(s).length > 0 || nfa.calls.get(s).length > 0) {
            return false;
        }
        for (int t : nfa.epsilons.get(s)) {
            if (distance[t] < UNREACHABLE && !tail[t]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Fewest bytes from each automaton state to the end of its rule (UNREACHABLE: never), by
     * Knuth's generalisation of Dijkstra's algorithm: a call costs its rule's shortest text plus
     * the rest after the return, and each candidate is formed from settled values only.
     */
    private int[] distances() {
        int n = nfa.size();
        List<List<int[]>> preds = new ArrayList<>(n);     // (predecessor, bytes) over byte and empty edges
        List<List<int[]>> byReturn = new ArrayList<>(n);  // (caller, rule) for calls returning here
        List<List<int[]>> byRule = new ArrayList<>(nfa.ruleStart.length); // (caller, return) per rule
        for (int s = 0; s < n; s++) {
            preds.add(new ArrayList<>());
            byReturn.add(new ArrayList<>());
        }
        for (int r = 0; r < nfa.ruleStart.length; r++) {
            byRule.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            Rx.Bytes[] sets = nfa.byteSets.get(s);
            int[] targets = nfa.byteTargets.get(s);
            for (int e = 0; e < sets.length; e++) {
                if (!sets[e].isEmpty()) {
                    preds.get(targets[e]).add(new int[] {s, 1});
                }
            }
            for (int t : nfa.epsilons.get(s)) {
                preds.get(t).add(new int[] {s, 0});
            }
            int[] calls = nfa.calls.get(s);
            for (int i = 0; i < calls.length; i += 2) {
                byReturn.get(calls[i + 1]).add(new int[] {s, calls[i]});
                byRule.get(calls[i]).add(new int[] {s, calls[i + 1]});
            }
        }
        int[] ruleStarting = new int[n];
        Arrays.fill(ruleStarting, -1);
        for (int r = 0; r < nfa.ruleStart.length; r++) {
            ruleStarting[nfa.ruleStart[r]] = r;
        }
        int[] d = new int[n];
        Arrays.fill(d, UNREACHABLE);
        boolean[] settled = new boolean[n];
        PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
        for (int r = 0; r < nfa.ruleAccept.length; r++) {
            d[nfa.ruleAccept[r]] = 0;
            queue.add(new long[] {0, nfa.ruleAccept[r]});
        }
        while (!queue.isEmpty()) {
            long[] top = queue.poll();
            int s = (int) top[1];
            if (settled[s] || top[0] != d[s]) {
                continue;
            }
            settled[s] = true;
            for (int[] p : preds.get(s)) {
                relax(d, settled, queue, p[0], (long) d[s] + p[1]);
            }
            for (int[] c : byReturn.get(s)) {
                int start = nfa.ruleStart[c[1]];
                if (settled[start]) {
                    relax(d, settled, queue, c[0], (long) d[start] + d[s]);
                }
            }
            int rule = ruleStarting[s];
            if (rule >= 0) {
                for (int[] c : byRule.get(rule)) {
                    if (settled[c[1]]) {
                        relax(d, settled, queue, c[0], (long) d[s] + d[c[1]]);
                    }
                }
            }
        }
        return d;
    }

    private static void relax(int[] d, boolean[] settled, PriorityQueue<long[]> queue, int s, long value) {
        if (!settled[s] && value < d[s]) {
            d[s] = (int) Math.min(value, UNREACHABLE);
            queue.add(new long[] {d[s], s});
        }
    }

    /**
     * Refuses a rule that can call itself before reading any byte: its closure would push
     * forever. The calls each rule can make first (through empty moves and rules that may
     * derive nothing) form a graph; a cycle in it is left recursion.
     */
    private void refuseLeftRecursion(List<String> names, String field) {
        int rules = nfa.ruleStart.length;
        List<Set<Integer>> first = new ArrayList<>();
        for (int r = 0; r < rules; r++) {
            Set<Integer> called = new HashSet<>();
            boolean[] seen = new boolean[nfa.size()];
            ArrayDeque<Integer> work = new ArrayDeque<>();
            work.add(nfa.ruleStart[r]);
            seen[nfa.ruleStart[r]] = true;
            while (!work.isEmpty()) {
                int s = work.poll();
                if (distance[s] >= UNREACHABLE) {
                    continue;
                }
                List<Integer> nextStates = new ArrayList<>();
                for (int t : nfa.epsilons.get(s)) {
                    nextStates.add(t);
                }
                int[] calls = nfa.calls.get(s);
                for (int i = 0; i < calls.length; i += 2) {
                    if (distance[nfa.ruleStart[calls[i]]] >= UNREACHABLE || distance[calls[i + 1]] >= UNREACHABLE) {
                        continue;
                    }
                    called.add(calls[i]);
                    if (nullable(calls[i])) {
                        nextStates.add(calls[i + 1]);
                    }
                }
                for (int t : nextStates) {
                    if (!seen[t]) {
                        seen[t] = true;
                        work.add(t);
                    }
                }
            }
            first.add(called);
        }
        int[] color = new int[rules]; // 0 new, 1 on the path, 2 done
        for (int r = 0; r < rules; r++) {
            int cyclic = findCycle(r, first, color);
            if (cyclic >= 0) {
                String name = names.get(cyclic);
                throw new ConstraintException(field + ": rule '" + name + "' is left-recursive (it can reach '" + name
                        + "' again before any text), which is not supported; write the repetition with '*' or '+'"
                        + " instead, e.g. list ::= item (\",\" item)*");
            }
        }
    }

    /** Whether the rule can derive the empty text (its shortest text has no byte). */
    private boolean nullable(int rule) {
        return distance[nfa.ruleStart[rule]] == 0;
    }

    private static int findCycle(int r, List<Set<Integer>> first, int[] color) {
        if (color[r] == 1) {
            return r;
        }
        if (color[r] == 2) {
            return -1;
        }
        color[r] = 1;
        for (int q : first.get(r)) {
            int c = findCycle(q, first, color);
            if (c >= 0) {
                return c;
            }
        }
        color[r] = 2;
        return -1;
    }

    private record Configuration(long[] items, boolean accepting) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Configuration c && c.accepting == accepting && Arrays.equals(c.items, items);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(items) * 31 + (accepting ? 1 : 0);
        }
    }
}
