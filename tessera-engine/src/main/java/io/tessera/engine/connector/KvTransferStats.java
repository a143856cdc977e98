package io.tessera.engine.connector;

import java.util.Map;

/**
 * The engine's side of KV transfer, for metrics and leak checks.
 *
 * @param loadedTokens prompt tokens whose KV was loaded from elsewhere instead of computed
 * @param loadFailures loads that failed (those prompts were computed here instead)
 * @param loading loads in flight (aborted ones not yet reported included)
 * @param loadingBlocks blocks those loads hold
 * @param pinnedBlocks blocks kept for sending after their request finished
 * @param connector the connector's own counters (bytes, transfers, timeouts...)
 */
public record KvTransferStats(long loadedTokens, long loadFailures, int loading, int loadingBlocks,
        int pinnedBlocks, Map<String, Long> connector) {

    public static final KvTransferStats NONE = new KvTransferStats(0, 0, 0, 0, 0, Map.of());
}
