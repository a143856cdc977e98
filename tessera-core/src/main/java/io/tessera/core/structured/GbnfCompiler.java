package io.tessera.core.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a parsed {@link Gbnf.Grammar} into an automaton. Every rule that is not recursive is
 * expanded in place of its references; when no recursive rule is left the language is regular
 * and becomes a {@link Dfa}, as a regular expression does. Otherwise the recursive rules stay
 * rules of their own, called through a stack: a {@link PushdownAutomaton}.
 */
final class GbnfCompiler {
    /** How deep a rule's expression may nest once the rules it uses are expanded into it. */
    static final int MAX_EXPANDED_DEPTH = 1000;

    private final Gbnf.Grammar grammar;
    private final String field;
    private final boolean[] recursive;
    private final int[] newIndex;
    private final List<Integer> kept = new ArrayList<>();
    private final Rx[] expanded;
    private int level;
    private final boolean[] expanding;
    private final Map<Rx, Integer> depthMemo = new IdentityHashMap<>();

    private GbnfCompiler(Gbnf.Grammar grammar, String field) {
        this.grammar = grammar;
        this.field = field;
        int n = grammar.rules().size();
        this.recursive = new boolean[n];
        this.newIndex = new int[n];
        this.expanded = new Rx[n];
        this.expanding = new boolean[n];
        Arrays.fill(newIndex, -1);
    }

    /** The grammar's automaton, within the constraint limits. */
    static ByteAutomaton compile(Gbnf.Grammar grammar, String field, int maxNfaStates, int maxDfaStates) {
        GbnfCompiler c = new GbnfCompiler(grammar, field);
        c.findRecursion();
        c.keep(0);
        List<Rx> rules = new ArrayList<>();
        for (int i = 0; i < c.kept.size(); i++) {
            rules.add(c.expand(c.kept.get(i)));
        }
        if (c.kept.size() == 1 && !c.recursive[0]) {
            return Dfa.compile(rules.get(0), maxNfaStates, maxDfaStates);
        }
        List<String> names = new ArrayList<>();
        for (int r : c.kept) {
            names.add(grammar.names().get(r));
        }
        return new PushdownAutomaton(Nfa.ofRules(rules, maxNfaStates), names, field);
    }

    /** Rule {@code r} stays a rule of its own (the root, or recursive); returns its new index. */
    private int keep(int r) {
        if (newIndex[r] < 0) {
            newIndex[r] = kept.size();
            kept.add(r);
        }
        return newIndex[r];
    }

    /** The rule's body with every non-recursive reference expanded (memoized; shared subtrees). */
    private Rx expand(int r) {
        if (expanded[r] == null) {
            expanding[r] = true;
            Rx body = rewrite(grammar.rules().get(r), r);
            expanding[r] = false;
            if (depth(body) > MAX_EXPANDED_DEPTH) {
                throw tooDeep(r);
            }
            expanded[r] = body;
        }
        return expanded[r];
    }

    private ConstraintException tooDeep(int rule) {
        return new ConstraintException(field + ": rule '" + grammar.names().get(rule) + "' nests more than "
                + MAX_EXPANDED_DEPTH + " levels deep once the rules it uses are written out");
    }

    /** {@code rx} with references expanded; {@code owner} is the rule being expanded (for messages). */
    private Rx rewrite(Rx rx, int owner) {
        // the expansion's nesting so far: bounds this recursion whatever the chain of rules
        if (++level > MAX_EXPANDED_DEPTH) {
            throw tooDeep(owner);
        }
        try {
            return rewriteNode(rx, owner);
        } finally {
            level--;
        }
    }

    private Rx rewriteNode(Rx rx, int owner) {
        return switch (rx) {
            case Rx.Call c -> {
                if (recursive[c.rule()]) {
                    yield new Rx.Call(keep(c.rule()));
                }
                if (expanding[c.rule()]) {
                    throw new IllegalStateException("a non-recursive rule refers to itself: " + c.rule());
                }
                yield expand(c.rule());
            }
            case Rx.Seq s -> new Rx.Seq(rewriteAll(s.parts(), owner));
            case Rx.Alt a -> new Rx.Alt(rewriteAll(a.options(), owner));
            case Rx.Repeat r -> new Rx.Repeat(rewrite(r.item(), owner), r.min(), r.max());
            case Rx.Bytes b -> b;
            case Rx.SepList l -> throw new IllegalStateException("not in a grammar: " + l);
            case Rx.Members m -> throw new IllegalStateException("not in a grammar: " + m);
        };
    }

    private List<Rx> rewriteAll(List<Rx> parts, int owner) {
        List<Rx> out = new ArrayList<>(parts.size());
        for (Rx p : parts) {
            out.add(rewrite(p, owner));
        }
        return out;
    }

    private int depth(Rx rx) {
        Integer known = depthMemo.get(rx);
        if (known != null) {
            return known;
        }
        int d = switch (rx) {
            case Rx.Seq s -> 1 + s.parts().stream().mapToInt(this::depth).max().orElse(0);
            case Rx.Alt a -> 1 + a.options().stream().mapToInt(this::depth).max().orElse(0);
            case Rx.Repeat r -> 1 + depth(r.item());
            default -> 1;
        };
        depthMemo.put(rx, d);
        return d;
    }

    /** Marks the rules that can reach themselves through references (Tarjan's components). */
    private void findRecursion() {
        int n = grammar.rules().size();
        List<int[]> refs = new ArrayList<>();
        for (Rx body : grammar.rules()) {
            List<Integer> out = new ArrayList<>();
            collectCalls(body, out);
            refs.add(out.stream().mapToInt(Integer::intValue).distinct().toArray());
        }
        int[] index = new int[n];
        int[] low = new int[n];
        boolean[] onStack = new boolean[n];
        Arrays.fill(index, -1);
        int[] counter = {0};
        List<Integer> stack = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            if (index[r] < 0) {
                strongConnect(r, refs, index, low, onStack, stack, counter);
            }
        }
    }

    private void strongConnect(int v, List<int[]> refs, int[] index, int[] low, boolean[] onStack, List<Integer> stack,
            int[] counter) {
        index[v] = low[v] = counter[0]++;
        stack.add(v);
        onStack[v] = true;
        for (int w : refs.get(v)) {
            if (w == v) {
                recursive[v] = true;
            }
            if (index[w] < 0) {
                strongConnect(w, refs, index, low, onStack, stack, counter);
                low[v] = Math.min(low[v], low[w]);
            } else if (onStack[w]) {
                low[v] = Math.min(low[v], index[w]);
            }
        }
        if (low[v] == index[v]) {
            List<Integer> component = new ArrayList<>();
            int w;
            do {
                w = stack.remove(stack.size() - 1);
                onStack[w] = false;
                component.add(w);
            } while (w != v);
            if (component.size() > 1) {
                for (int r : component) {
                    recursive[r] = true;
                }
            }
        }
    }

    private static void collectCalls(Rx rx, List<Integer> out) {
        switch (rx) {
            case Rx.Call c -> out.add(c.rule());
            case Rx.Seq s -> s.parts().forEach(p -> collectCalls(p, out));
            case Rx.Alt a -> a.options().forEach(p -> collectCalls(p, out));
            case Rx.Repeat r -> collectCalls(r.item(), out);
            default -> {
            }
        }
    }
}
