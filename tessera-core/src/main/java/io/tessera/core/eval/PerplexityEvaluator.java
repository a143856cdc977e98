package io.tessera.core.eval;

import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.model.ModelConfig;
import java.util.Arrays;

/**
 * Perplexity of a model on a tokenized text, and optionally the KL divergence of its next-token
 * distributions from a base model's (llama.cpp's {@code llama-perplexity} and its
 * {@code --kl-divergence}). The windows ({@link PerplexityWindows}) run through the forward pass
 * several at a time, each as its own sequence of one batch: first every window's unscored prefix
 * without logits, then the scored part with logits for each of its tokens.
 */
public final class PerplexityEvaluator {

    /** Receives progress after each step of windows. */
    public interface Progress {
        void windowsDone(int done, int total, double runningPerplexity);
    }

    private static final int BLOCK_SIZE = 16;

    private final DecoderForward model;
    private final DecoderForward base;
    private final KvCacheType kvType;
    private final int batchTokens;

    /**
     * @param base the model to compare with (same vocabulary), or null
     * @param kvType the KV cache precision the evaluated model runs with (the base always runs with F32)
     * @param batchTokens about how many tokens one forward step carries (at least one window)
     */
    public PerplexityEvaluator(DecoderForward model, DecoderForward base, KvCacheType kvType, int batchTokens) {
        ModelConfig cfg = model.model().config();
        if (base != null && base.model().config().vocabSize() != cfg.vocabSize()) {
            throw new IllegalArgumentException("the base model's vocabulary has " + base.model().config().vocabSize()
                    + " tokens, the model's " + cfg.vocabSize() + ": KL divergence needs the same tokenizer");
        }
        if (batchTokens < 1) {
            throw new IllegalArgumentException("batch tokens must be positive, got " + batchTokens);
        }
        this.model = model;
        this.base = base;
        this.kvType = kvType;
        this.batchTokens = batchTokens;
    }

    /**
     * @param tokens the text tokenized with BOS (its first token is replaced by BOS in every window anyway)
     * @param bos the BOS id each window starts with, or -1 to keep the text's first token
     */
    public PerplexityResult evaluate(int[] tokens, int bos, int ctx, int stride, Progress progress) {
        PerplexityWindows windows = new PerplexityWindows(tokens.length, ctx, stride);
        checkContext(model, ctx);
        if (base != null) {
            checkContext(base, ctx);
        }
        int vocab = model.model().config().vocabSize();
        int perStep = Math.max(1, Math.min(windows.count(), batchTokens / ctx));
        int scored = windows.scoredPerWindow();
        int first = windows.firstScored();
        Sample nll = new Sample();
        Sample baseNll = new Sample();
        Sample kl = new Sample();
        Sample sameTop = new Sample();
        long correctTop = 0;
        int blocksPerWindow = (ctx + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int blocks = perStep * blocksPerWindow;
        try (PagedKvCache cache = new PagedKvCache(model.layers(), model.kvHeads(), model.headDim(), kvType, blocks,
                BLOCK_SIZE);
                PagedKvCache baseCache = base == null ? null : new PagedKvCache(base.layers(), base.kvHeads(),
                        base.headDim(), KvCacheType.F32, blocks, BLOCK_SIZE)) {
            for (int w0 = 0; w0 < windows.count(); w0 += perStep) {
                int n = Math.min(perStep, windows.count() - w0);
                int[][] windowTokens = new int[n][];
                for (int i = 0; i < n; i++) {
                    int s = windows.start(w0 + i);
                    windowTokens[i] = Arrays.copyOfRange(tokens, s, s + ctx);
                    if (bos >= 0) {
                        windowTokens[i][0] = bos;
                    }
                }
                float[] logits = run(model, cache, windowTokens, first, blocksPerWindow);
                float[] baseLogits = base == null ? null : run(base, baseCache, windowTokens, first, blocksPerWindow);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < scored; j++) {
                        int row = (i * scored + j) * vocab;
                        int target = windowTokens[i][first + j];
                        double lse = LogitMath.logSumExp(logits, row, vocab);
                        nll.add(lse - logits[row + target]);
                        int top = LogitMath.argmax(logits, row, vocab);
                        if (top == target) {
                            correctTop++;
                        }
                        if (baseLogits != null) {
                            double baseLse = LogitMath.logSumExp(baseLogits, row, vocab);
                            baseNll.add(baseLse - baseLogits[row + target]);
                            kl.add(LogitMath.klDivergence(baseLogits, row, baseLse, logits, row, lse, vocab));
                            sameTop.add(LogitMath.argmax(baseLogits, row, vocab) == top ? 1 : 0);
                        }
                    }
                }
                if (progress != null) {
                    progress.windowsDone(w0 + n, windows.count(), Math.exp(nll.mean()));
                }
            }
        }
        PerplexityResult.Divergence divergence = base == null ? null : new PerplexityResult.Divergence(
                baseNll.mean(), kl.mean(), kl.standardError(), kl.quantile(0.5), kl.quantile(0.99), kl.max(),
                sameTop.mean(), sameTop.standardError());
        return new PerplexityResult(windows.count(), ctx, stride, nll.size(), nll.mean(), nll.standardError(),
                (double) correctTop / nll.size(), divergence);
    }

    private static void checkContext(DecoderForward forward, int ctx) {
        int limit = forward.model().config().contextLength();
        if (ctx > limit) {
            throw new IllegalArgumentException("the window (--ctx) of " + ctx + " tokens exceeds the model's context"
                    + " length " + limit);
        }
    }

    /**
     * Feeds each window's positions {@code 0 .. ctx-2} (the last token is only a target) and
     * returns the logits of positions {@code first-1 .. ctx-2}, which predict the scored tokens,
     * window after window.
     */
    private static float[] run(DecoderForward forward, PagedKvCache cache, int[][] windowTokens, int first,
            int blocksPerWindow) {
        int n = windowTokens.length;
        int ctx = windowTokens[0].length;
        int[][] tables = new int[n][blocksPerWindow];
        for (int i = 0; i < n; i++) {
            for (int b = 0; b < blocksPerWindow; b++) {
                tables[i][b] = i * blocksPerWindow + b;
            }
        }
        ForwardBatch.Builder prefix = ForwardBatch.builder();
        ForwardBatch.Builder scored = ForwardBatch.builder();
        for (int i = 0; i < n; i++) {
            // first >= ctx/2 + 1 >= 3, so both parts hold at least one token
            prefix.add(tables[i], Arrays.copyOfRange(windowTokens[i], 0, first - 1), 0, ForwardBatch.Logits.NONE);
            scored.add(tables[i], Arrays.copyOfRange(windowTokens[i], first - 1, ctx - 1), first - 1,
                    ForwardBatch.Logits.ALL);
        }
        forward.forward(prefix.build(), cache);
        return forward.forward(scored.build(), cache);
    }
}
