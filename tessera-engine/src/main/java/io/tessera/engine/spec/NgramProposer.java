package io.tessera.engine.spec;

import io.tessera.engine.scheduler.Sequence;

/**
 * Prompt lookup: proposes the tokens that followed the most recent earlier occurrence of the
 * sequence's last n tokens in its own prompt and output, trying the longest n first (vLLM's
 * {@code ngram} method). Where vLLM stops at the known tokens, the proposal goes on with the
 * repetition the match implies (a match p tokens back proposes the last p tokens again, and again),
 * so a short loop still gets k tokens. A deterministic draft: the same tokens always give the same
 * proposal.
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

    /** {@code k} proposed tokens to follow the sequence's tokens; empty when no n-gram recurs. */
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
                    // the match says the text repeats with period len - from; past the end of the
                    // known tokens the proposal goes on repeating them, so a loop of any length
                    // (one token repeated included) is proposed k tokens ahead
                    int from = start + n;
                    int period = len - from;
                    int[] out = new int[k];
                    for (int i = 0; i < k; i++) {
                        out[i] = i < period ? seq.token(from + i) : out[i - period];
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
