package io.tessera.core.sampling;

/**
 * Changes one sequence's logits in place before a token is picked from them, after the
 * penalties: a logit bias, or a mask that leaves only the tokens a grammar allows (set the others
 * to negative infinity). Called once per sampled token.
 */
@FunctionalInterface
public interface LogitsProcessor {
    void process(float[] logits, int vocabSize);
}
