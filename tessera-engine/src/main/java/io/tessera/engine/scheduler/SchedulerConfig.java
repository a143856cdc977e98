package io.tessera.engine.scheduler;

/**
 * Limits of one step.
 *
 * @param maxBatchedTokens tokens per step (decodes count one each; prompts are chunked to fit)
 * @param maxSeqs sequences running at once
 * @param admitWatermark share of the blocks kept free when admitting a new request while others
 *     run, so that running decodes do not immediately preempt it
 */
public record SchedulerConfig(int maxBatchedTokens, int maxSeqs, double admitWatermark) {

    public static final int DEFAULT_MAX_BATCHED_TOKENS = 512;
    public static final int DEFAULT_MAX_SEQS = 128;

    public SchedulerConfig {
        if (maxBatchedTokens < 1) {
            throw new IllegalArgumentException("max batched tokens must be at least 1, got " + maxBatchedTokens);
        }
        if (maxSeqs < 1) {
            throw new IllegalArgumentException("max sequences must be at least 1, got " + maxSeqs);
        }
        if (admitWatermark < 0 || admitWatermark >= 1) {
            throw new IllegalArgumentException("admission watermark must be in [0, 1), got " + admitWatermark);
        }
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(DEFAULT_MAX_BATCHED_TOKENS, DEFAULT_MAX_SEQS, 0.01);
    }

    public SchedulerConfig withMaxBatchedTokens(int n) {
        return new SchedulerConfig(n, maxSeqs, admitWatermark);
    }

    public SchedulerConfig withMaxSeqs(int n) {
        return new SchedulerConfig(maxBatchedTokens, n, admitWatermark);
    }
}
