package io.tessera.cluster.router;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** One `tessera serve` instance behind the router, with its load and health as the router sees them. */
public final class Replica {

    private final URI base;
    private final AtomicLong outstandingTokens = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private volatile boolean healthy = true;
    private volatile String lastError;

    Replica(URI base) {
        this.base = base;
    }

    public URI base() {
        return base;
    }

    public long outstandingTokens() {
        return outstandingTokens.get();
    }

    public boolean healthy() {
        return healthy;
    }

    public long served() {
        return served.get();
    }

    public long failed() {
        return failed.get();
    }

    public String lastError() {
        return lastError;
    }

    void begin(long tokens) {
        outstandingTokens.addAndGet(tokens);
    }

    void end(long tokens, boolean ok) {
        outstandingTokens.addAndGet(-tokens);
        (ok ? served : failed).incrementAndGet();
    }

    /** A health check or a request reached it. */
    void up() {
        consecutiveFailures.set(0);
        healthy = true;
    }

    /** A health check failed ({@code hard}: a request could not even connect): out after 2 soft or 1 hard. */
    void down(String why, boolean hard) {
        lastError = why;
        if (hard || consecutiveFailures.incrementAndGet() >= 2) {
            healthy = false;
        }
    }

    @Override
    public String toString() {
        return base.toString();
    }
}
