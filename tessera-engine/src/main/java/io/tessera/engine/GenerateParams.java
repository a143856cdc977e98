package io.tessera.engine;

import io.tessera.core.sampling.LogitBias;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.core.structured.TokenConstraint;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * How one request generates.
 *
 * @param sampling how tokens are picked (temperature, top-k/p, penalties, seed). With a seed, a
 *     sample's tokens depend only on the seed, its index and the logits, never on the batch it ran in
 * @param maxTokens tokens to generate at most per sample; 0 for up to the context length
 * @param n parallel samples of the prompt (they share the prompt's KV blocks); at most {@value #MAX_N}
 *     and what the scheduler runs at once, as {@link GenerationLimits#checkSamples} checks
 * @param stopTokenIds tokens that end a sample (not included in its output); at most
 *     {@value #MAX_STOP_TOKEN_IDS}
 * @param stop strings that end a sample, found across token boundaries, not included in its text;
 *     at most {@value #MAX_STOP_STRINGS} of together {@value #MAX_STOP_CHARS} characters (they are
 *     matched in time independent of their number, but each request compiles them)
 * @param ignoreEos keep generating past the end-of-sequence token
 * @param logprobs -1: none; 0: the log-probability of each chosen token; k: also the k most likely
 *     (of the model's distribution, before logit bias and constraint)
 * @param logitBias added to the logits of listed tokens before sampling; null for none
 * @param constraint the language every sample's text must be in (structured output): only tokens
 *     that keep the text inside it are sampled, end tokens only where it is complete, and a
 *     sample whose text is complete with nothing possible after it ends; null for none
 */
public record GenerateParams(
        SamplingParams sampling,
        int maxTokens,
        int n,
        int[] stopTokenIds,
        List<String> stop,
        boolean ignoreEos,
        int logprobs,
        LogitBias logitBias,
        TokenConstraint constraint) {

    public static final int MAX_LOGPROBS = 20;
    public static final int MAX_N = 128;
    public static final int MAX_STOP_STRINGS = 64;
    public static final int MAX_STOP_CHARS = 4096;
    public static final int MAX_STOP_TOKEN_IDS = 1024;

    public GenerateParams {
        sampling = sampling == null ? SamplingParams.greedy() : sampling;
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
        check(stopTokenIds.length <= MAX_STOP_TOKEN_IDS, "stop_token_ids may hold at most " + MAX_STOP_TOKEN_IDS
                + " ids, got " + stopTokenIds.length);
        // sorted, for a binary search per generated token
        Arrays.sort(stopTokenIds);
        stop = stop == null ? List.of() : List.copyOf(stop);
        check(maxTokens >= 0, "max_tokens must not be negative, got " + maxTokens);
        // the upper bound (MAX_N, and what runs at once) is GenerationLimits', checked on submission
        check(n >= 1, "n must be at least 1, got " + n);
        check(logprobs >= -1 && logprobs <= MAX_LOGPROBS, "logprobs must be in 0.." + MAX_LOGPROBS + ", got "
                + logprobs);
        check(stop.size() <= MAX_STOP_STRINGS, "stop may hold at most " + MAX_STOP_STRINGS + " strings, got "
                + stop.size());
        long chars = 0;
        for (String s : stop) {
            check(s != null && !s.isEmpty(), "stop strings must not be empty");
            chars += s.length();
        }
        check(chars <= MAX_STOP_CHARS, "stop strings may have at most " + MAX_STOP_CHARS
                + " characters in total, got " + chars);
    }

    public GenerateParams(SamplingParams sampling, int maxTokens, int n, int[] stopTokenIds, List<String> stop,
                          boolean ignoreEos, int logprobs) {
        this(sampling, maxTokens, n, stopTokenIds, stop, ignoreEos, logprobs, null, null);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static GenerateParams greedy(int maxTokens) {
        return new GenerateParams(SamplingParams.greedy(), maxTokens, 1, null, null, false, -1);
    }

    public GenerateParams withSampling(SamplingParams v) {
        return new GenerateParams(v, maxTokens, n, stopTokenIds, stop, ignoreEos, logprobs, logitBias, constraint);
    }

    public GenerateParams withMaxTokens(int v) {
        return new GenerateParams(sampling, v, n, stopTokenIds, stop, ignoreEos, logprobs, logitBias, constraint);
    }

    public GenerateParams withN(int v) {
        return new GenerateParams(sampling, maxTokens, v, stopTokenIds, stop, ignoreEos, logprobs, logitBias, constraint);
    }

    public GenerateParams withStopTokenIds(int... v) {
        return new GenerateParams(sampling, maxTokens, n, v, stop, ignoreEos, logprobs, logitBias, constraint);
    }

    public GenerateParams withStop(List<String> v) {
        return new GenerateParams(sampling, maxTokens, n, stopTokenIds, v, ignoreEos, logprobs, logitBias, constraint);
    }

    public GenerateParams withIgnoreEos(boolean v) {
        return new GenerateParams(sampling, maxTokens, n, stopTokenIds, stop, v, logprobs, logitBias, constraint);
    }

    public GenerateParams withLogprobs(int v) {
        return new GenerateParams(sampling, maxTokens, n, stopTokenIds, stop, ignoreEos, v, logitBias, constraint);
    }

    public GenerateParams withLogitBias(LogitBias v) {
        return new GenerateParams(sampling, maxTokens, n, stopTokenIds, stop, ignoreEos, logprobs, v, constraint);
    }

    public GenerateParams withConstraint(TokenConstraint v) {
        return new GenerateParams(sampling, maxTokens, n, stopTokenIds, stop, ignoreEos, logprobs, logitBias, v);
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    boolean isStopToken(int token) {
        return stopTokenIds.length > 0 && Arrays.binarySearch(stopTokenIds, token) >= 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerateParams g && g.sampling.equals(sampling) && g.maxTokens == maxTokens && g.n == n
                && Arrays.equals(g.stopTokenIds, stopTokenIds) && g.stop.equals(stop) && g.ignoreEos == ignoreEos
                && g.logprobs == logprobs && Objects.equals(g.logitBias, logitBias) && g.constraint == constraint;
    }

    @Override
    public int hashCode() {
        return Objects.hash(sampling, maxTokens, n, Arrays.hashCode(stopTokenIds), stop, ignoreEos, logprobs, logitBias,
                System.identityHashCode(constraint));
    }

    @Override
    public String toString() {
        return "GenerateParams[" + sampling + ", maxTokens=" + maxTokens + ", n=" + n + ", stopTokenIds="
                + Arrays.toString(stopTokenIds) + ", stop=" + stop + ", ignoreEos=" + ignoreEos + ", logprobs="
                + logprobs + (logitBias == null ? "" : ", logitBias=" + logitBias)
                + (constraint == null ? "" : ", constraint=" + constraint.description()) + "]";
    }
}
