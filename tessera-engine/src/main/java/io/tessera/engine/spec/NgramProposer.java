package io.tessera.engine.spec;

import io.tessera.engine.scheduler.Sequence;

/**
 * Prompt lookup: proposes the tokens that followed the most recent earlier occurrence of the
 * sequence's last n tokens in its own prompt and output, trying the longest n first (vLLM's
 * {@code ngram} method). A deterministic draft: the same tokens always give the same proposal.
 * Costs O(length × n) per call; stateless, so one instance serves every sequence.
 */
public final class NgramProposer implements Drafter {

    private static final int[] NONE = new int[0];

    private final int minN;
    private final int maxN;

    public NgramProposer(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("n-gram lengths need 1 <= min <= max, got " + minN + ".." + maxN);
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    /** Up to {@code k} proposed tokens to follow the sequence's tokens; empty when no n-gram recurs. */
    @Override
    public int[] propose(Sequence seq, int k) {
        int len = seq.numTokens();
        if (k <= 0) {
            return NONE;
        }
        for (int n = Math.min(maxN, len - 1); n >= minN; n--) {
            int suffix = len - n;
            for (int start = suffix - 1; start >= 0; start--) {
                if (matches(seq, start, suffix, n)) {
                    int from = start + n;
                    int count = Math.min(k, len - from);
                    int[] out = new int[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = seq.token(from + i);
                    }
                    return out;
                }
            }
        }
        return NONE;
    }

    private static boolean matches(Sequence seq, int a, int b, int n) {
        for (int i = n - 1; i >= 0; i--) { // the last token differs most often: test it first
            if (seq.token(a + i) != seq.token(b + i)) {
                return false;
            }
        }
        return true;
    }
}
