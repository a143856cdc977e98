package io.tessera.core.structured;

/**
 * A deterministic automaton over bytes whose every state can still reach acceptance, as a
 * {@link TokenConstraint} walks it: a {@link Dfa} (regular languages, built whole) or a
 * {@link PushdownAutomaton} (grammars, its states built as texts reach them). Thread-safe.
 */
public interface ByteAutomaton {
    /** No transition: the byte leaves the language. */
    int DEAD = -1;

    int start();

    /** The state after {@code b} (its low 8 bits), or {@link #DEAD}. */
    int next(int state, int b);

    boolean accepting(int state);

    /** Whether some byte continues from the state. */
    boolean canContinue(int state);

    /** States built so far. */
    int size();

    /** The fewest bytes that complete the text from a state (0 when it is accepting). */
    int minBytesToAccept(int state);
}
