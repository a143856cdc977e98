package io.tessera.core.sampling;

/**
 * Log-probabilities of a token and of the most likely alternatives, from a log-softmax over the
 * full vocabulary.
 *
 * <p>Which logits go in is the caller's choice: {@link Sampler#logProbs} uses its penalized logits
 * before temperature and truncation, i.e. the distribution the model (with penalties) assigns, not
 * the sharpened or truncated one actually drawn from; passing the raw model logits to
 * {@link #compute} gives the unpenalized distribution, which is what vLLM reports by default.
 *
 * @param token the chosen token
 * @param logprob its log-probability
 * @param topIds the most likely tokens, most likely first (lower id first on ties)
 * @param topLogprobs their log-probabilities, in the same order
 */
public record LogProbs(int token, float logprob, int[] topIds, float[] topLogprobs) {

    public static LogProbs compute(float[] logits, int offset, int vocabSize, int chosen, int topN) {
        if (chosen < 0 || chosen >= vocabSize) {
            throw new IllegalArgumentException("token " + chosen + " is out of range for a vocabulary of " + vocabSize);
        }
        if (topN < 0) {
            throw new IllegalArgumentException("topN must be >= 0, got " + topN);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) sum += Math.exp(logits[offset + i] - max);
        double logZ = max + Math.log(sum);

        int n = Math.min(topN, vocabSize);
        int[] ids = new int[n];
        float[] values = new float[n];
        if (n > 0) {
            long[] keys = new long[vocabSize];
            for (int i = 0; i < vocabSize; i++) keys[i] = Ranking.key(logits[offset + i], i);
            Ranking.selectSorted(keys, vocabSize, n);
            for (int i = 0; i < n; i++) {
                ids[i] = Ranking.id(keys[i]);
                values[i] = (float) (logits[offset + ids[i]] - logZ);
            }
        }
        return new LogProbs(chosen, (float) (logits[offset + chosen] - logZ), ids, values);
    }
}
