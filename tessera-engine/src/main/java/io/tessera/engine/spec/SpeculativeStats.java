package io.tessera.engine.spec;

/**
 * Counters of speculative decoding since the engine started.
 *
 * @param verifySteps sequence-steps that verified at least one proposed token
 * @param proposedTokens tokens proposed
 * @param acceptedTokens proposed tokens the target model accepted
 * @param emittedTokens tokens the verify steps produced (accepted ones plus one each from the
 *     target: the correction or the bonus token), so tokens per verify step = emitted / verifySteps
 * @param proposedAt per draft position i, how often a token was proposed there
 * @param acceptedAt per draft position i, how often the token proposed there was accepted
 */
public record SpeculativeStats(long verifySteps, long proposedTokens, long acceptedTokens, long emittedTokens,
        long[] proposedAt, long[] acceptedAt) {

    public SpeculativeStats {
        proposedAt = proposedAt.clone();
        acceptedAt = acceptedAt.clone();
    }

    public static SpeculativeStats none() {
        return new SpeculativeStats(0, 0, 0, 0, new long[0], new long[0]);
    }

    /** Accepted over proposed tokens (0 when none was proposed). */
    public double acceptanceRate() {
        return proposedTokens == 0 ? 0 : (double) acceptedTokens / proposedTokens;
    }

    /** Acceptance rate at draft position i (0 when nothing was proposed there). */
    public double acceptanceRateAt(int i) {
        return i >= proposedAt.length || proposedAt[i] == 0 ? 0 : (double) acceptedAt[i] / proposedAt[i];
    }

    /** Tokens produced per verifying sequence-step (1 would be plain decoding). */
    public double tokensPerVerifyStep() {
        return verifySteps == 0 ? 0 : (double) emittedTokens / verifySteps;
    }

    @Override
    public long[] proposedAt() {
        return proposedAt.clone();
    }

    @Override
    public long[] acceptedAt() {
        return acceptedAt.clone();
    }
}
