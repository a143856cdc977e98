package io.tessera.engine;

import io.tessera.engine.kv.KvStats;

/**
 * Counters of an engine since it started.
 *
 * @param steps forward passes run
 * @param promptTokensComputed prompt (and recomputed) tokens that went through the model
 * @param generatedTokens tokens sampled
 * @param preemptions sequences sent back to waiting for lack of KV blocks
 * @param executeNanos time spent in the executor
 * @param batchedTokens tokens that went through the model, all steps together
 * @param logitRows rows of logits computed
 */
public record EngineStats(
        long steps,
        int running,
        int waiting,
        long promptTokensComputed,
        long generatedTokens,
        long preemptions,
        long finishedRequests,
        long abortedRequests,
        long executeNanos,
        long batchedTokens,
        long logitRows,
        KvStats kv) {
}
