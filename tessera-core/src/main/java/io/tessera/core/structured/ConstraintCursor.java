package io.tessera.core.structured;

import io.tessera.core.sampling.LogitsProcessor;
import java.util.Arrays;

/**
 * Where one generated sequence is in a {@link TokenConstraint}: masks its logits before each
 * token is sampled and follows the sampled token's bytes. End tokens (EOS, stop tokens) are
 * allowed exactly where the text is complete. Not thread-safe: one per sequence.
 */
public final class ConstraintCursor implements LogitsProcessor {
    private final TokenConstraint constraint;
    private final int[] endTokens;
    private final float[] saved;
    private float[] kept = new float[0];
    private int state;

    ConstraintCursor(TokenConstraint constraint, int[] endTokens) {
        this.constraint = constraint;
        this.endTokens = endTokens.clone();
        this.saved = new float[endTokens.length];
        this.state = constraint.automaton().start();
    }

    /** Whether the text so far is in the language (an end token may come now). */
    public boolean accepting() {
        return constraint.automaton().accepting(state);
    }

    /** Whether the text is complete and nothing can follow it: the sequence is done. */
    public boolean complete() {
        return accepting() && !constraint.automaton().canContinue(state);
    }

    /** Whether some token may come next (false: the vocabulary cannot continue the text). */
    public boolean hasChoice() {
        return constraint.mask(state).allowedCount() > 0 || (accepting() && endTokens.length > 0);
    }

    @Override
    public void process(float[] logits, int vocabSize) {
        for (int i = 0; i < endTokens.length; i++) {
            saved[i] = endTokens[i] < vocabSize ? logits[endTokens[i]] : 0f;
        }
        TokenConstraint.Mask mask = constraint.mask(state);
        int[] ids = mask.ids();
        int known = Math.min(vocabSize, constraint.vocabulary().size());
        if (mask.negated()) {
            for (int id : ids) {
                if (id < vocabSize) {
                    logits[id] = Float.NEGATIVE_INFINITY;
                }
            }
        } else {
            if (kept.length < ids.length) {
                kept = new float[ids.length];
            }
            for (int i = 0; i < ids.length; i++) {
                kept[i] = ids[i] < vocabSize ? logits[ids[i]] : 0f;
            }
            Arrays.fill(logits, 0, known, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < vocabSize) {
                    logits[ids[i]] = kept[i];
                }
            }
        }
        // rows of a padded output head have no token behind them
        Arrays.fill(logits, known, vocabSize, Float.NEGATIVE_INFINITY);
        boolean end = accepting();
        for (int i = 0; i < endTokens.length; i++) {
            if (endTokens[i] < vocabSize) {
                logits[endTokens[i]] = end ? saved[i] : Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Follows a sampled token that is not an end token.
     *
     * @throws IllegalStateException if its bytes leave the language (it was not allowed)
     */
    public void advance(int token) {
        TokenVocabulary vocabulary = constraint.vocabulary();
        int length = vocabulary.length(token);
        int s = state;
        for (int i = 0; i < length; i++) {
            s = constraint.automaton().next(s, vocabulary.byteAt(token, i));
            if (s == ByteAutomaton.DEAD) {
                throw new IllegalStateException("token " + token + " does not continue " + constraint.description());
            }
        }
        if (length == 0) {
            throw new IllegalStateException("token " + token + " has no text and cannot continue "
                    + constraint.description());
        }
        state = s;
    }

    /** The automaton state the text so far leads to. */
    public int state() {
        return state;
    }

    public TokenConstraint constraint() {
        return constraint;
    }
}
