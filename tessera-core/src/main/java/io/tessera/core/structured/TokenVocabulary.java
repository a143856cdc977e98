package io.tessera.core.structured;

import io.tessera.core.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * The tokens of a vocabulary as a byte trie, laid out in depth-first order, for walking all of
 * them through an automaton at once: tokens sharing a prefix share its steps, and a prefix that
 * leaves the language skips its whole subtree. Tokens without bytes (control tokens) are not in
 * it. Immutable and thread-safe; build one per tokenizer.
 */
public final class TokenVocabulary {
    private final int size;
    private final byte[][] bytes;
    private final byte[] label;       // per node: its byte (node 0 is the root)
    private final int[] depth;        // per node: its depth (root 0)
    private final int[] subtreeEnd;   // per node: the first node after its subtree
    private final int[] tokenStart;   // per node: its tokens are tokens[tokenStart[n], tokenStart[n + 1])
    private final int[] tokens;
    private final int maxDepth;

    /** @param bytes each token's bytes (empty: a control token) */
    public TokenVocabulary(byte[][] bytes) {
        this.size = bytes.length;
        this.bytes = new byte[bytes.length][];
        for (int id = 0; id < bytes.length; id++) {
            this.bytes[id] = bytes[id].clone();
        }
        Integer[] order = new Integer[bytes.length];
        int withBytes = 0;
        long totalBytes = 0;
        for (int id = 0; id < bytes.length; id++) {
            if (bytes[id].length > 0) {
                order[withBytes++] = id;
                totalBytes += bytes[id].length;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, withBytes);
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8, totalBytes + 1);
        byte[] lab = new byte[capacity];
        int[] dep = new int[capacity];
        int[] end = new int[capacity];
        int[] tokenNode = new int[withBytes];
        int[] open = new int[1];           // open[d]: the node at depth d on the current path
        int nodes = 1;
        int deepest = 0;
        byte[] previous = new byte[0];
        for (int k = 0; k < withBytes; k++) {
            byte[] t = bytes[sorted[k]];
            int common = Arrays.mismatch(previous, t);
            if (common < 0) {
                common = t.length;        // the same bytes as the previous token
            }
            for (int d = common + 1; d <= previous.length; d++) {
                end[open[d]] = nodes;     // the previous token's nodes below the shared prefix are complete
            }
            if (open.length < t.length + 1) {
                open = Arrays.copyOf(open, Math.max(t.length + 1, open.length * 2));
            }
            for (int d = common + 1; d <= t.length; d++) {
                lab[nodes] = t[d - 1];
                dep[nodes] = d;
                open[d] = nodes++;
            }
            tokenNode[k] = open[t.length];
            deepest = Math.max(deepest, t.length);
            previous = t;
        }
        for (int d = 1; d <= previous.length; d++) {
            end[open[d]] = nodes;
        }
        end[0] = nodes;
        this.label = Arrays.copyOf(lab, nodes);
        this.depth = Arrays.copyOf(dep, nodes);
        this.subtreeEnd = Arrays.copyOf(end, nodes);
        this.maxDepth = deepest;
        // tokens are in node order already: a token's node is never before the previous token's
        this.tokens = new int[withBytes];
        this.tokenStart = new int[nodes + 1];
        for (int k = 0; k < withBytes; k++) {
            tokens[k] = sorted[k];
            tokenStart[tokenNode[k] + 1]++;
        }
        for (int n = 0; n < nodes; n++) {
            tokenStart[n + 1] += tokenStart[n];
        }
    }

    /** The vocabulary of a tokenizer, by each token's decoded bytes. */
    public static TokenVocabulary of(Tokenizer tokenizer) {
        byte[][] bytes = new byte[tokenizer.vocabSize()][];
        for (int id = 0; id < bytes.length; id++) {
            bytes[id] = tokenizer.tokenBytes(id);
        }
        return new TokenVocabulary(bytes);
    }

    /** Token ids are 0..size-1. */
    public int size() {
        return size;
    }

    /** The bytes of a token (empty for a control token). */
    public byte[] bytes(int id) {
        return id >= 0 && id < size ? bytes[id].clone() : new byte[0];
    }

    int length(int id) {
        return id >= 0 && id < size ? bytes[id].length : 0;
    }

    byte byteAt(int id, int i) {
        return bytes[id][i];
    }

    int nodes() {
        return label.length;
    }

    /**
     * Sets in {@code allowed} every token whose bytes walk from {@code state} to a live state of
     * the automaton.
     */
    void allowedTokens(ByteAutomaton automaton, int state, long[] allowed) {
        int[] stateAt = new int[maxDepth + 1];
        stateAt[0] = state;
        int n = 1;
        int nodes = label.length;
        while (n < nodes) {
            int s = automaton.next(stateAt[depth[n] - 1], label[n]);
            if (s == ByteAutomaton.DEAD) {
                n = subtreeEnd[n];
                continue;
            }
            stateAt[depth[n]] = s;
            for (int k = tokenStart[n]; k < tokenStart[n + 1]; k++) {
                int id = tokens[k];
                allowed[id >>> 6] |= 1L << id;
            }
            n++;
        }
    }
}
