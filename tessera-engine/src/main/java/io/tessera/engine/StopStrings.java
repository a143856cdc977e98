package io.tessera.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A request's stop strings compiled into an Aho–Corasick automaton, built once per request and
 * shared by its samples' {@link StopMatcher}s. Feeding one character costs amortised constant time
 * however many stop strings there are: a state is the longest suffix of the text read so far that
 * begins some stop string, and each state knows the longest stop string ending there.
 *
 * <p>Immutable once built; safe to share between samples.
 */
final class StopStrings {

    private static final int ROOT = 0;

    private final List<String> stops;
    /** Trie edges: key (state << 16 | char) → target state. */
    private final Map<Long, Integer> edges = new HashMap<>();
    private int[] fail;
    private int[] depth;
    /** Per state: index in {@link #stops} of the longest stop string that is a suffix of the state, or -1. */
    private int[] match;

    StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
        List<Integer> depths = new ArrayList<>();
        List<Integer> terminal = new ArrayList<>();
        depths.add(0);
        terminal.add(-1);
        for (int s = 0; s < this.stops.size(); s++) {
            String stop = this.stops.get(s);
            int state = ROOT;
            for (int i = 0; i < stop.length(); i++) {
                long key = key(state, stop.charAt(i));
                Integer next = edges.get(key);
                if (next == null) {
                    next = depths.size();
                    depths.add(i + 1);
                    terminal.add(-1);
                    edges.put(key, next);
                }
                state = next;
            }
            if (terminal.get(state) < 0) {
                terminal.set(state, s);
            }
        }
        depth = depths.stream().mapToInt(Integer::intValue).toArray();
        match = terminal.stream().mapToInt(Integer::intValue).toArray();
        fail = new int[depth.length];
        linkFailures();
    }

    /** Breadth first: a state's failure link is the longest proper suffix of it that is also a state. */
    private void linkFailures() {
        Map<Integer, List<long[]>> children = new HashMap<>();
        for (Map.Entry<Long, Integer> e : edges.entrySet()) {
            int from = (int) (e.getKey() >>> 16);
            char c = (char) (e.getKey() & 0xffff);
            children.computeIfAbsent(from, k -> new ArrayList<>()).add(new long[] {c, e.getValue()});
        }
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        queue.add(ROOT);
        while (!queue.isEmpty()) {
            int state = queue.poll();
            for (long[] child : children.getOrDefault(state, List.of())) {
                char c = (char) child[0];
                int target = (int) child[1];
                if (state == ROOT) {
                    fail[target] = ROOT;
                } else {
                    fail[target] = next(fail[state], c);
                }
                // a longer stop string ending here wins; else the longest one ending at the failure state
                if (match[target] < 0) {
                    match[target] = match[fail[target]];
                }
                queue.add(target);
            }
        }
    }

    private static long key(int state, char c) {
        return ((long) state << 16) | c;
    }

    /** The state after reading {@code c} in {@code state}. */
    int next(int state, char c) {
        while (true) {
            Integer to = edges.get(key(state, c));
            if (to != null) {
                return to;
            }
            if (state == ROOT) {
                return ROOT;
            }
            state = fail[state];
        }
    }

    static int root() {
        return ROOT;
    }

    /** Characters of the text that may still begin a stop string, in this state. */
    int depth(int state) {
        return depth[state];
    }

    /** The longest stop string ending in this state, or null. */
    String matchAt(int state) {
        return match[state] < 0 ? null : stops.get(match[state]);
    }

    List<String> stops() {
        return stops;
    }

    @Override
    public String toString() {
        return "StopStrings" + Arrays.toString(stops.toArray());
    }
}
