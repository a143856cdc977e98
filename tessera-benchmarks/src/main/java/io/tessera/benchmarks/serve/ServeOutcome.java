package io.tessera.benchmarks.serve;

import java.util.List;

/**
 * A finished request, as its client saw it.
 *
 * @param prompt what was sent
 * @param startNanos when it was sent (System.nanoTime)
 * @param ttft seconds to the first chunk with text, NaN when it failed
 * @param e2e seconds from sending to the end of the stream
 * @param itl seconds between consecutive text chunks
 * @param chunkNanos arrival time of each text chunk (System.nanoTime)
 */
public record ServeOutcome(ServePrompt prompt, boolean ok, String error, long startNanos, double ttft, double e2e,
        List<Double> itl, List<Long> chunkNanos, int promptTokens, int outputTokens) {

    /** Seconds per output token after the first, NaN when there is no second token (or it failed). */
    public double tpot() {
        return ok && outputTokens > 1 ? (e2e - ttft) / (outputTokens - 1) : Double.NaN;
    }
}
