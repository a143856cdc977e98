package io.tessera.engine;

import java.util.List;

/**
 * Log-probability of a chosen token under the model's distribution (the raw logits, before
 * temperature and truncation), with the most likely alternatives if asked.
 */
public record TokenLogprob(int token, float logprob, List<Top> top) {

    public TokenLogprob {
        top = List.copyOf(top);
    }

    /** One alternative: a token and its log-probability. */
    public record Top(int token, float logprob) {
    }
}
