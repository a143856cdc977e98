package io.tessera.server;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission control: at most a fixed number of engine sequences in the server at once, a request
 * taking one per sample of each of its prompts (prompts × n), so that one request cannot flood the
 * engine with samples.
 */
final class Admission {

    private final int limit;
    private final AtomicInteger pending = new AtomicInteger();

    Admission(int limit) {
        this.limit = limit;
    }

    /** Takes {@code k} places, or none and false when that would pass the limit. */
    boolean tryAcquire(int k) {
        while (true) {
            int p = pending.get();
            if (p + k > limit) {
                return false;
            }
            if (pending.compareAndSet(p, p + k)) {
                return true;
            }
        }
    }

    void release(int k) {
        pending.addAndGet(-k);
    }

    int pending() {
        return pending.get();
    }

    int limit() {
        return limit;
    }
}
