package io.tessera.cluster.transport;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Counts failed handshakes per remote address and refuses an address for a while once it has
 * failed {@link HandshakePolicy#maxFailures()} times in a row: a client guessing tokens, or
 * flooding with connections that never authenticate, is slowed to a few attempts per lockout. A
 * success clears the address's record. After a lockout one more failure locks it out again, for
 * twice as long (at most 64 times the first lockout).
 *
 * <p>The table is bounded: when it is full, records of addresses that are not locked out are
 * dropped first.
 */
final class HandshakeGuard {

    private static final int MAX_ADDRESSES = 4096;
    private static final int MAX_DOUBLINGS = 6;

    private final HandshakePolicy policy;
    private final LongSupplier clock;
    private final Map<InetAddress, Record> records = new HashMap<>();

    private static final class Record {
        int failures;
        int lockouts;
        long lockedUntil;
    }

    HandshakeGuard(HandshakePolicy policy, LongSupplier nanoClock) {
        this.policy = policy;
        this.clock = nanoClock;
    }

    /** Whether a connection from this address may try to authenticate now. */
    synchronized boolean admits(InetAddress address) {
        Record r = records.get(address);
        return r == null || clock.getAsLong() - r.lockedUntil >= 0;
    }

    /**
     * Records a failed handshake; returns the lockout it starts in milliseconds, or 0 when the
     * address may still try.
     */
    synchronized long failed(InetAddress address) {
        Record r = records.get(address);
        if (r == null) {
            makeRoom();
            r = new Record();
            records.put(address, r);
        }
        r.failures++;
        if (r.failures < policy.maxFailures()) {
            return 0;
        }
        long millis = policy.lockout().toMillis() << Math.min(r.lockouts, MAX_DOUBLINGS);
        r.lockouts++;
        r.failures = policy.maxFailures() - 1;
        r.lockedUntil = clock.getAsLong() + millis * 1_000_000L;
        return millis;
    }

    /** Failed handshakes of this address since its last success (for the log). */
    synchronized int failures(InetAddress address) {
        Record r = records.get(address);
        return r == null ? 0 : r.failures;
    }

    synchronized void succeeded(InetAddress address) {
        records.remove(address);
    }

    private void makeRoom() {
        if (records.size() < MAX_ADDRESSES) {
            return;
        }
        long now = clock.getAsLong();
        for (Iterator<Record> it = records.values().iterator(); it.hasNext();) {
            if (now - it.next().lockedUntil >= 0) {
                it.remove();
            }
        }
        if (records.size() >= MAX_ADDRESSES) {
            records.remove(records.keySet().iterator().next());
        }
    }
}
