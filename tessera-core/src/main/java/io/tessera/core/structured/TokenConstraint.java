package io.tessera.core.structured;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A compiled constraint on generated text: an automaton over bytes and, per automaton state, the
 * tokens of the vocabulary whose bytes keep the text inside the language (its mask). Masks are
 * computed when a state is first reached and kept, up to a memory budget past which they are
 * recomputed at each use. Shared by every request with the same constraint; thread-safe. One
 * {@link ConstraintCursor} per generated sequence follows its text.
 */
public final class TokenConstraint {
    /** Ints of masks kept per constraint at most (a mask holds the allowed or the refused ids, whichever are fewer). */
    static final long MASK_BUDGET_INTS = 4L << 20;

    private final ByteAutomaton automaton;
    private final TokenVocabulary vocabulary;
    private final String description;
    private final Map<Integer, Mask> masks = new ConcurrentHashMap<>();
    private final AtomicLong keptInts = new AtomicLong();

    public TokenConstraint(ByteAutomaton automaton, TokenVocabulary vocabulary, String description) {
        this.automaton = automaton;
        this.vocabulary = vocabulary;
        this.description = description;
    }

    public ByteAutomaton automaton() {
        return automaton;
    }

    public TokenVocabulary vocabulary() {
        return vocabulary;
    }

    /** What the constraint is, for messages (e.g. "json_schema 'person'"). */
    public String description() {
        return description;
    }

    /**
     * A cursor at the start of the text.
     *
     * @param endTokens tokens that end the sequence (EOS, stop tokens): allowed exactly where the
     *     text so far is complete
     */
    public ConstraintCursor start(int[] endTokens) {
        return new ConstraintCursor(this, endTokens);
    }

    /** The tokens that may follow in {@code state}. */
    Mask mask(int state) {
        Mask m = masks.get(state);
        if (m != null) {
            return m;
        }
        m = compute(state);
        if (keptInts.addAndGet(m.ids().length) <= MASK_BUDGET_INTS) {
            Mask raced = masks.putIfAbsent(state, m);
            if (raced != null) {
                keptInts.addAndGet(-m.ids().length);
                return raced;
            }
        } else {
            keptInts.addAndGet(-m.ids().length);
        }
        return m;
    }

    private Mask compute(int state) {
        int n = vocabulary.size();
        long[] allowed = new long[(n + 63) >>> 6];
        vocabulary.allowedTokens(automaton, state, allowed);
        int count = 0;
        for (long w : allowed) {
            count += Long.bitCount(w);
        }
        boolean negated = count > n / 2;
        int[] ids = new int[negated ? n - count : count];
        int k = 0;
        for (int id = 0; id < n; id++) {
            boolean in = (allowed[id >>> 6] & (1L << id)) != 0;
            if (in != negated) {
                ids[k++] = id;
            }
        }
        return new Mask(ids, negated, count);
    }

    /**
     * @param ids the allowed tokens, or with {@code negated} the refused ones (of the vocabulary;
     *     ids beyond it are always refused)
     * @param allowedCount how many tokens are allowed
     */
    record Mask(int[] ids, boolean negated, int allowedCount) {
    }
}
