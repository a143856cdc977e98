package io.tessera.router;

import java.net.URI;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One `tessera serve` instance behind the router, with its load and health as the router sees them.
 *
 * <p>Its health changes only through what the router itself exchanged with its configured address:
 * health checks, and requests the router sent there.
 */
public final class Replica {

    private final URI base;
    private final AtomicLong outstandingTokens = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final Set<Attempt> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean healthy = new AtomicBoolean(true);
    private volatile String lastError;
    /** When anything last came from this replica: a response byte or a health answer. */
    private volatile long lastHeardNanos = System.nanoTime();
    /** Its KV transfer address (HOST:PORT), where other replicas fetch prefixes from it; null when unknown. */
    private volatile String kvAddress;

    Replica(URI base) {
        this.base = base;
    }

    public URI base() {
        return base;
    }

    public String kvAddress() {
        return kvAddress;
    }

    void kvAddress(String address) {
        this.kvAddress = address;
    }

    public long outstandingTokens() {
        return outstandingTokens.get();
    }

    public boolean healthy() {
        return healthy.get();
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

    void begin(Attempt a, long tokens) {
        outstandingTokens.addAndGet(tokens);
        inFlight.add(a);
    }

    void end(Attempt a, long tokens, boolean ok) {
        inFlight.remove(a);
        outstandingTokens.addAndGet(-tokens);
        (ok ? served : failed).incrementAndGet();
    }

    List<Attempt> inFlight() {
        return List.copyOf(inFlight);
    }

    /** Something arrived from the replica: it is not stalled, whatever its answer. */
    void heard() {
        lastHeardNanos = System.nanoTime();
    }

    long lastHeardNanos() {
        return lastHeardNanos;
    }

    /** A health check passed or a request got an answer. */
    void up() {
        heard();
        consecutiveFailures.set(0);
        if (!healthy.getAndSet(true)) {
            Router.LOG.log(System.Logger.Level.INFO, "replica " + base + " is back in the rotation");
        }
    }

    /** A health check or a request failed ({@code hard}: could not connect, or stalled): out after 2 soft or 1 hard. */
    void down(String why, boolean hard) {
        lastError = why;
        if ((hard || consecutiveFailures.incrementAndGet() >= 2) && healthy.compareAndSet(true, false)) {
            Router.LOG.log(System.Logger.Level.WARNING, "replica " + base + " is out of the rotation: " + why);
        }
    }

    @Override
    public String toString() {
        return base.toString();
    }
}
