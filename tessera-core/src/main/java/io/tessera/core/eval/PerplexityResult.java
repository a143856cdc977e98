package io.tessera.core.eval;

/**
 * What {@link PerplexityEvaluator} measured. Perplexity is {@code exp(mean NLL)}; its uncertainty
 * is {@code ppl · stderr(NLL)} (first order), as llama.cpp reports it.
 *
 * @param kl the comparison with a base model, or null when none was given
 */
public record PerplexityResult(int windows, int ctx, int stride, long scoredTokens, double meanNll,
        double nllStandardError, double top1Accuracy, Divergence kl) {

    public double perplexity() {
        return Math.exp(meanNll);
    }

    public double perplexityError() {
        return perplexity() * nllStandardError;
    }

    /**
     * The scored tokens' distributions against the base model's, as llama.cpp's
     * {@code --kl-divergence} reports them.
     *
     * @param baseMeanNll the base model's mean NLL on the same tokens
     * @param sameTopRate fraction of tokens where both models' most likely token is the same
     *     (llama.cpp's "Same top p")
     */
    public record Divergence(double baseMeanNll, double klMean, double klStandardError, double klMedian,
            double klP99, double klMax, double sameTopRate, double sameTopStandardError) {

        public double basePerplexity() {
            return Math.exp(baseMeanNll);
        }
    }
}
