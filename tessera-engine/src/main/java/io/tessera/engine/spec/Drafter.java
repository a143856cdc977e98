package io.tessera.engine.spec;

import io.tessera.engine.scheduler.Sequence;

/**
 * Where proposed tokens come from: prompt lookup ({@link NgramProposer}) or a smaller model
 * ({@link DraftModelProposer}). Proposals must be a deterministic function of what the drafter has
 * seen (a one-hot draft distribution), which is what lets the engine's acceptance rule keep the
 * target's distribution exactly.
 */
public interface Drafter {

    /** Up to {@code k} tokens to follow the sequence's tokens; empty for none. */
    int[] propose(Sequence seq, int k);

    /** The sequence is finished: drop what is kept for it. */
    default void release(Sequence seq) {
    }
}
