package io.tessera.core.eval;

/**
 * How a tokenized text is cut into evaluation windows, after llama.cpp's {@code llama-perplexity}.
 * Window {@code k} holds the tokens {@code [k·stride, k·stride + ctx)} of the text (tokenized with
 * BOS), its first token replaced by BOS, so every window starts as a fresh sequence. A window scores
 * only its last {@link #scoredPerWindow()} tokens, so every scored token sees at least half a
 * window of context.
 *
 * <p>With {@code stride = ctx} (the default) this is exactly llama.cpp's scheme: non-overlapping
 * chunks, the second half of each scored (positions {@code ctx/2 + 1 .. ctx-1}). With a stride up to
 * {@code ctx - 1 - ctx/2} the windows overlap and every token after the first window's unscored
 * part is scored exactly once.
 */
public record PerplexityWindows(int tokenCount, int ctx, int stride) {

    public PerplexityWindows {
        if (ctx < 4) {
            throw new IllegalArgumentException("the window (--ctx) must be at least 4 tokens, got " + ctx);
        }
        if (stride < 1 || stride > ctx) {
            throw new IllegalArgumentException("the stride (--stride) must be 1.." + ctx + " (the window), got "
                    + stride);
        }
        if (tokenCount < ctx) {
            throw new IllegalArgumentException("the text has " + tokenCount + " tokens, fewer than one window of "
                    + ctx + " (--ctx); give a longer text or a smaller --ctx");
        }
    }

    /** Windows that fit whole in the text. */
    public int count() {
        return (tokenCount - ctx) / stride + 1;
    }

    /** First token of window {@code k} in the text. */
    public int start(int k) {
        return k * stride;
    }

    /** Tokens each window scores: its last ones, at most {@code ctx - 1 - ctx/2} (llama.cpp's second half). */
    public int scoredPerWindow() {
        return Math.min(stride, ctx - 1 - ctx / 2);
    }

    /** Window position of the first scored token; the logits predicting it come from the position before. */
    public int firstScored() {
        return ctx - scoredPerWindow();
    }

    /** Tokens scored over the whole text. */
    public long scoredTotal() {
        return (long) count() * scoredPerWindow();
    }
}
