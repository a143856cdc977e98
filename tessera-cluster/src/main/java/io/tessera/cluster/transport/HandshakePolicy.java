package io.tessera.cluster.transport;

import java.time.Duration;

/**
 * What a listening node allows a connection that has not authenticated yet.
 *
 * @param timeout a connection that has not completed its HELLO (and TLS handshake) by then is closed
 * @param maxFailures failed handshakes from one remote address after which it is refused for a while
 * @param lockout how long such an address is refused at first; each further lockout doubles it
 */
public record HandshakePolicy(Duration timeout, int maxFailures, Duration lockout) {

    /** Largest frame accepted before authentication, header included: a HELLO carries only the token. */
    public static final int MAX_HELLO_BYTES = 4096;

    public static final HandshakePolicy DEFAULT = new HandshakePolicy(Duration.ofSeconds(5), 5, Duration.ofSeconds(60));

    public HandshakePolicy {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the handshake timeout (--handshake-timeout) must be positive, got " + timeout);
        }
        if (maxFailures < 1) {
            throw new IllegalArgumentException("--max-auth-failures must be at least 1, got "
                    + maxFailures);
        }
        if (lockout.isNegative()) {
            throw new IllegalArgumentException("--auth-lockout must not be negative, got " + lockout);
        }
    }
}
