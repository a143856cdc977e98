package io.tessera.router;

import java.time.Duration;

/**
 * The router's settings.
 *
 * @param healthInterval time between two health checks of a replica
 * @param affinitySlackTokens how many more outstanding tokens a replica holding a prompt's prefix
 *     may have than the least loaded one and still be preferred
 * @param requestTimeout longest one request may take at a replica, start to last byte
 * @param stallTimeout how long a replica may stay completely silent (no response bytes, no SSE
 *     keep-alive, no health answer) while requests are in flight before those requests are failed
 *     over and the replica leaves the rotation
 * @param maxBodyBytes largest request body; larger gets 413 before anything is forwarded
 * @param requestReadTimeout longest a client may take to send one request's head and body
 * @param idleTimeout how long a client connection may sit idle between requests before it is closed
 */
public record RouterConfig(Duration healthInterval, long affinitySlackTokens, Duration requestTimeout,
        Duration stallTimeout, long maxBodyBytes, Duration requestReadTimeout, Duration idleTimeout) {

    /** The same as {@code tessera serve}'s default {@code --max-body-size}: a replica would refuse more. */
    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;

    public RouterConfig {
        positive("health interval", healthInterval);
        positive("request timeout", requestTimeout);
        positive("request read timeout", requestReadTimeout);
        positive("idle timeout", idleTimeout);
        if (affinitySlackTokens < 0) {
            throw new IllegalArgumentException("the affinity slack must not be negative, got " + affinitySlackTokens);
        }
        if (stallTimeout == null || stallTimeout.compareTo(healthInterval.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("the stall timeout must be at least twice the health interval ("
                    + healthInterval.toMillis() + " ms), since passing health checks are what tell a busy replica "
                    + "from a stalled one; got " + (stallTimeout == null ? "none" : stallTimeout.toMillis() + " ms"));
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("the body size limit must be at least 1024 bytes, got " + maxBodyBytes);
        }
    }

    public static RouterConfig defaults() {
        return new RouterConfig(Duration.ofSeconds(1), 512, Duration.ofSeconds(600), Duration.ofSeconds(15),
                DEFAULT_MAX_BODY_BYTES, Duration.ofSeconds(30), Duration.ofSeconds(120));
    }

    public RouterConfig withHealthInterval(Duration d) {
        return new RouterConfig(d, affinitySlackTokens, requestTimeout, stallTimeout, maxBodyBytes,
                requestReadTimeout, idleTimeout);
    }

    public RouterConfig withAffinitySlackTokens(long n) {
        return new RouterConfig(healthInterval, n, requestTimeout, stallTimeout, maxBodyBytes, requestReadTimeout,
                idleTimeout);
    }

    public RouterConfig withRequestTimeout(Duration d) {
        return new RouterConfig(healthInterval, affinitySlackTokens, d, stallTimeout, maxBodyBytes,
                requestReadTimeout, idleTimeout);
    }

    public RouterConfig withStallTimeout(Duration d) {
        return new RouterConfig(healthInterval, affinitySlackTokens, requestTimeout, d, maxBodyBytes,
                requestReadTimeout, idleTimeout);
    }

    public RouterConfig withMaxBodyBytes(long n) {
        return new RouterConfig(healthInterval, affinitySlackTokens, requestTimeout, stallTimeout, n,
                requestReadTimeout, idleTimeout);
    }

    public RouterConfig withRequestReadTimeout(Duration d) {
        return new RouterConfig(healthInterval, affinitySlackTokens, requestTimeout, stallTimeout, maxBodyBytes, d,
                idleTimeout);
    }

    public RouterConfig withIdleTimeout(Duration d) {
        return new RouterConfig(healthInterval, affinitySlackTokens, requestTimeout, stallTimeout, maxBodyBytes,
                requestReadTimeout, d);
    }

    private static void positive(String what, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("the " + what + " must be positive, got " + d);
        }
    }
}
