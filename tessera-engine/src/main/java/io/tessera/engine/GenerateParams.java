package io.tessera.engine;

import java.util.Arrays;
import java.util.List;

/**
 * How one request generates.
 *
 * @param maxTokens tokens to generate at most per sample; 0 for up to the context length
 * @param n parallel samples of the prompt (they share the prompt's KV blocks)
 * @param temperature 0 for greedy decoding
 * @param topK keep the k most likely tokens (0: all)
 * @param topP keep the smallest set of tokens whose probability reaches p (1: all)
 * @param seed seed of the sampling random numbers; null for a random seed. With a seed, a sample's
 *     tokens depend only on the seed, its index and the logits, never on the batch it ran in
 * @param stopTokenIds tokens that end a sample (not included in its output)
 * @param stop strings that end a sample, found across token boundaries, not included in its text
 * @param ignoreEos keep generating past the end-of-sequence token
 * @param logprobs -1: none; 0: the log-probability of each chosen token; k: also the k most likely
 */
public record GenerateParams(
        int maxTokens,
        int n,
        float temperature,
        int topK,
        float topP,
        Long seed,
        int[] stopTokenIds,
        List<String> stop,
        boolean ignoreEos,
        int logprobs) {

    public static final int MAX_LOGPROBS = 20;

    public GenerateParams {
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
        stop = stop == null ? List.of() : List.copyOf(stop);
        check(maxTokens >= 0, "max_tokens must not be negative, got " + maxTokens);
        check(n >= 1 && n <= 128, "n must be in 1..128, got " + n);
        check(temperature >= 0 && Float.isFinite(temperature), "temperature must be a finite number >= 0, got "
                + temperature);
        check(topK >= 0, "top_k must not be negative, got " + topK);
        check(topP > 0 && topP <= 1, "top_p must be in (0, 1], got " + topP);
        check(logprobs >= -1 && logprobs <= MAX_LOGPROBS, "logprobs must be in 0.." + MAX_LOGPROBS + ", got "
                + logprobs);
        for (String s : stop) {
            check(s != null && !s.isEmpty(), "stop strings must not be empty");
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static GenerateParams greedy(int maxTokens) {
        return new GenerateParams(maxTokens, 1, 0f, 0, 1f, null, null, null, false, -1);
    }

    public GenerateParams withMaxTokens(int v) {
        return new GenerateParams(v, n, temperature, topK, topP, seed, stopTokenIds, stop, ignoreEos, logprobs);
    }

    public GenerateParams withN(int v) {
        return new GenerateParams(maxTokens, v, temperature, topK, topP, seed, stopTokenIds, stop, ignoreEos, logprobs);
    }

    public GenerateParams withSampling(float temp, int k, float p, Long s) {
        return new GenerateParams(maxTokens, n, temp, k, p, s, stopTokenIds, stop, ignoreEos, logprobs);
    }

    public GenerateParams withStopTokenIds(int... v) {
        return new GenerateParams(maxTokens, n, temperature, topK, topP, seed, v, stop, ignoreEos, logprobs);
    }

    public GenerateParams withStop(List<String> v) {
        return new GenerateParams(maxTokens, n, temperature, topK, topP, seed, stopTokenIds, v, ignoreEos, logprobs);
    }

    public GenerateParams withIgnoreEos(boolean v) {
        return new GenerateParams(maxTokens, n, temperature, topK, topP, seed, stopTokenIds, stop, v, logprobs);
    }

    public GenerateParams withLogprobs(int v) {
        return new GenerateParams(maxTokens, n, temperature, topK, topP, seed, stopTokenIds, stop, ignoreEos, v);
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    boolean isStopToken(int token) {
        for (int t : stopTokenIds) {
            if (t == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerateParams g && g.maxTokens == maxTokens && g.n == n && g.temperature == temperature
                && g.topK == topK && g.topP == topP && java.util.Objects.equals(g.seed, seed)
                && Arrays.equals(g.stopTokenIds, stopTokenIds) && g.stop.equals(stop) && g.ignoreEos == ignoreEos
                && g.logprobs == logprobs;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(maxTokens, n, temperature, topK, topP, seed, Arrays.hashCode(stopTokenIds), stop,
                ignoreEos, logprobs);
    }

    @Override
    public String toString() {
        return "GenerateParams[maxTokens=" + maxTokens + ", n=" + n + ", temperature=" + temperature + ", topK=" + topK
                + ", topP=" + topP + ", seed=" + seed + ", stopTokenIds=" + Arrays.toString(stopTokenIds) + ", stop="
                + stop + ", ignoreEos=" + ignoreEos + ", logprobs=" + logprobs + "]";
    }
}
