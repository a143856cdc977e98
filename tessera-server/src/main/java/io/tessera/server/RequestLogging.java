package io.tessera.server;

import java.time.Duration;

/**
 * What the server writes to its log besides warnings.
 *
 * @param accessLog one line per API request ({@link AccessLog})
 * @param statsInterval how often the engine throughput line ({@link ThroughputLog}) is written
 *     while the engine is busy; zero for never
 */
public record RequestLogging(boolean accessLog, Duration statsInterval) {

    public static final Duration DEFAULT_STATS_INTERVAL = Duration.ofSeconds(10);

    public RequestLogging {
        if (statsInterval == null || statsInterval.isNegative()) {
            throw new IllegalArgumentException("the stats interval must be zero (off) or positive, got "
                    + statsInterval);
        }
    }

    /** Both on, the throughput line every 10 s (vLLM's interval). */
    public static RequestLogging defaults() {
        return new RequestLogging(true, DEFAULT_STATS_INTERVAL);
    }

    /** Neither. */
    public static RequestLogging off() {
        return new RequestLogging(false, Duration.ZERO);
    }
}
