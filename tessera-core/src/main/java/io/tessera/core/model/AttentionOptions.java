package io.tessera.core.model;

/**
 * The options of the shared attention block a family chooses.
 *
 * @param qkvBias whether the Q, K and V projections add a bias (Qwen 2)
 * @param qkNorm whether each head's query and key are RMS-normalised, with weights of one head's
 *     width, before the rotary embedding (Qwen 3, Gemma 3)
 * @param slidingWindow how many positions back a token sees (itself included); 0 for the whole context
 * @param logitSoftcap soft-capping of the attention scores ({@code cap · tanh(s / cap)}); 0 for none
 */
public record AttentionOptions(boolean qkvBias, boolean qkNorm, int slidingWindow, float logitSoftcap) {

    /** Plain attention, as in Llama. */
    public static final AttentionOptions NONE = new AttentionOptions(false, false, 0, 0f);

    public AttentionOptions {
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding window must be 0 (none) or positive, got " + slidingWindow);
        }
        if (!(logitSoftcap >= 0) || !Float.isFinite(logitSoftcap)) {
            throw new IllegalArgumentException("attention logit soft-cap must be 0 (none) or positive, got "
                    + logitSoftcap);
        }
    }

    public AttentionOptions withQkvBias(boolean on) {
        return new AttentionOptions(on, qkNorm, slidingWindow, logitSoftcap);
    }

    public AttentionOptions withQkNorm(boolean on) {
        return new AttentionOptions(qkvBias, on, slidingWindow, logitSoftcap);
    }

    public AttentionOptions withSlidingWindow(int window) {
        return new AttentionOptions(qkvBias, qkNorm, window, logitSoftcap);
    }

    public AttentionOptions withLogitSoftcap(float cap) {
        return new AttentionOptions(qkvBias, qkNorm, slidingWindow, cap);
    }
}
