package io.tessera.engine;

import io.tessera.core.sampling.LogProbs;
import java.util.List;

/**
 * One delta of a request's output stream, for one sample: new text, new token ids and their
 * log-probabilities. A sample's last delta has a finish reason; the request's last delta (after
 * all its samples finished) carries the usage.
 *
 * @param index sample index, 0..n-1
 * @param text text completed by these tokens (held back while it might be the start of a stop
 *     string; empty when the engine has no detokenizer)
 * @param tokenIds new tokens (the end-of-sequence and stop tokens are not included)
 * @param logprobs one per token of tokenIds when asked for, else empty
 * @param finishReason null while the sample goes on
 * @param usage non-null only on the request's last delta
 * @param error a message when finishReason is ERROR
 */
public record RequestOutput(
        String requestId,
        int index,
        String text,
        int[] tokenIds,
        List<LogProbs> logprobs,
        FinishReason finishReason,
        Usage usage,
        String error) {

    public RequestOutput {
        tokenIds = tokenIds.clone();
        logprobs = List.copyOf(logprobs);
    }

    @Override
    public int[] tokenIds() {
        return tokenIds.clone();
    }

    /** Whether this is the request's last delta. */
    public boolean isLast() {
        return usage != null;
    }

    public boolean finished() {
        return finishReason != null;
    }
}
