package io.tessera.core.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * A Thompson automaton over bytes built from an {@link Rx}: states with byte-set edges and empty
 * (epsilon) edges, one start and one final state. Every construct enters through a fresh state,
 * so a loop never returns into a state that other branches leave from. Building stops with a
 * {@link ConstraintException} beyond {@code maxStates}, which bounds the work of a hostile input.
 *
 * <p>Invariant: a construct may add edges leaving the state it is entered from, but only a fresh
 * state of its own is ever the target of a loop's back edge, so sharing an entry state between
 * the options of an alternation cannot let one option run into another's loop.
 *
 * <p>A grammar's automaton ({@link #ofRules}) holds one such automaton per rule, each with its own
 * start and final state, and call edges for {@link Rx.Call}: from a state, enter a rule's start
 * and, once at its final state, continue at the call's return state.
 */
final class Nfa {
    final List<Rx.Bytes[]> byteSets = new ArrayList<>(); // per state: its byte edges' sets
    final List<int[]> byteTargets = new ArrayList<>();   // per state: their targets
    final List<int[]> epsilons = new ArrayList<>();      // per state: empty-edge targets
    final List<int[]> calls = new ArrayList<>();         // per state: (rule, return state) pairs
    final int[] ruleStart;
    final int[] ruleAccept;
    final int start;
    final int accept;
    private final int maxStates;
    private final boolean grammar;

    private Nfa(List<Rx> rules, int maxStates, boolean grammar) {
        this.maxStates = maxStates;
        this.grammar = grammar;
        this.ruleStart = new int[rules.size()];
        this.ruleAccept = new int[rules.size()];
        for (int r = 0; r < rules.size(); r++) {
            ruleStart[r] = newState();
            ruleAccept[r] = build(rules.get(r), ruleStart[r]);
        }
        this.start = ruleStart[0];
        this.accept = ruleAccept[0];
    }

    static Nfa of(Rx rx, int maxStates) {
        return new Nfa(List.of(rx), maxStates, false);
    }

    /** The automata of a grammar's rules, rule 0 first; {@link Rx.Call}s become call edges. */
    static Nfa ofRules(List<Rx> rules, int maxStates) {
        return new Nfa(rules, maxStates, true);
    }

    int size() {
        return epsilons.size();
    }

    private int newState() {
        if (epsilons.size() >= maxStates) {
            throw new ConstraintException("the constraint is too complex: its automaton would need more than "
                    + maxStates + " states");
        }
        byteSets.add(new Rx.Bytes[0]);
        byteTargets.add(new int[0]);
        epsilons.add(new int[0]);
        calls.add(new int[0]);
        return epsilons.size() - 1;
    }

    private void epsilon(int from, int to) {
        int[] e = epsilons.get(from);
        int[] n = java.util.Arrays.copyOf(e, e.length + 1);
        n[e.length] = to;
        epsilons.set(from, n);
    }

    private void byteEdge(int from, Rx.Bytes set, int to) {
        Rx.Bytes[] s = byteSets.get(from);
        int[] t = byteTargets.get(from);
        Rx.Bytes[] ns = java.util.Arrays.copyOf(s, s.length + 1);
        int[] nt = java.util.Arrays.copyOf(t, t.length + 1);
        ns[s.length] = set;
        nt[t.length] = to;
        byteSets.set(from, ns);
        byteTargets.set(from, nt);
    }

    /** Adds the automaton of {@code rx} entered from {@code from}; returns its exit state. */
    private int build(Rx rx, int in) {
        return switch (rx) {
            case Rx.Bytes b -> {
                int out = newState();
                if (!b.isEmpty()) {
                    byteEdge(in, b, out);
                }
                yield out;
            }
            case Rx.Seq s -> {
                int cur = in;
                for (Rx part : s.parts()) {
                    cur = build(part, cur);
                }
                yield cur;
            }
            case Rx.Alt a -> {
                int out = newState();
                for (Rx option : a.options()) {
                    epsilon(build(option, in), out);
                }
                yield out;
            }
            case Rx.Repeat r -> repeat(r.item(), null, r.min(), r.max(), in);
            case Rx.SepList l -> {
                if (l.max() == 0) {
                    yield in;
                }
                int out = newState();
                if (l.min() == 0) {
                    epsilon(in, out);
                }
                if (l.max() < 0) {
                    // (item sep) min-1 times, then one item looping back through the separator
                    int cur = in;
                    for (int i = 1; i < l.min(); i++) {
                        cur = build(l.sep(), build(l.item(), cur));
                    }
                    int loop = newState();
                    epsilon(cur, loop);
                    int last = build(l.item(), loop);
                    epsilon(build(l.sep(), last), loop);
                    epsilon(last, out);
                    yield out;
                }
                int first = build(l.item(), in);
                epsilon(repeat(l.item(), l.sep(), Math.max(0, l.min() - 1), l.max() - 1, first), out);
                yield out;
            }
            case Rx.Members m -> members(m, in);
            case Rx.Call c -> {
                if (!grammar || c.rule() < 0 || c.rule() >= ruleStart.length) {
                    throw new IllegalArgumentException("a rule reference outside its grammar: " + c);
                }
                int out = newState();
                int[] e = calls.get(in);
                int[] n = java.util.Arrays.copyOf(e, e.length + 2);
                n[e.length] = c.rule();
                n[e.length + 1] = out;
                calls.set(in, n);
                yield out;
            }
        };
    }

    /** {@code (sep item)} (or {@code item} when sep is null) repeated min..max times. */
    private int repeat(Rx item, Rx sep, int min, int max, int from) {
        int cur = from;
        for (int i = 0; i < min; i++) {
            cur = unit(item, sep, cur);
        }
        if (max < 0) {
            int loop = newState();
            epsilon(cur, loop);
            epsilon(unit(item, sep, loop), loop);
            return loop;
        }
        int out = newState();
        epsilon(cur, out);
        for (int i = min; i < max; i++) {
            cur = unit(item, sep, cur);
            epsilon(cur, out);
        }
        return out;
    }

    private int unit(Rx item, Rx sep, int from) {
        return build(item, sep == null ? from : build(sep, from));
    }

    /**
     * State (i, c): members 0..i-1 decided, c whether one is present (so member i needs the
     * separator first). Each member's automaton is built once, entered from (i, false) directly
     * and from (i, true) through the separator.
     */
    private int members(Rx.Members m, int from) {
        int n = m.members().size();
        int[] none = new int[n + 1];
        int[] some = new int[n + 1];
        for (int i = 0; i <= n; i++) {
            none[i] = newState();
            some[i] = newState();
        }
        epsilon(from, none[0]);
        for (int i = 0; i < n; i++) {
            Rx.Member member = m.members().get(i);
            int entry = newState();
            epsilon(none[i], entry);
            epsilon(build(m.sep(), some[i]), entry);
            epsilon(build(member.text(), entry), some[i + 1]);
            if (!member.required()) {
                epsilon(none[i], none[i + 1]);
                epsilon(some[i], some[i + 1]);
            }
        }
        int out = newState();
        epsilon(none[n], out);
        epsilon(some[n], out);
        return out;
    }
}
