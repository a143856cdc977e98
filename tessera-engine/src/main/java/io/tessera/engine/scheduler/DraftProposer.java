package io.tessera.engine.scheduler;

/**
 * Proposes tokens to verify alongside a decoding sequence's next token (speculative decoding). The
 * scheduler asks once per step for each running sequence that decodes, with the most tokens the
 * step's budget leaves.
 */
@FunctionalInterface
public interface DraftProposer {

    /** At most {@code max} proposed tokens to follow {@code seq}'s tokens; empty for none. */
    int[] propose(Sequence seq, int max);
}
