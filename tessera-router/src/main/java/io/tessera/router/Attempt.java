package io.tessera.router;

/**
 * One try of one client request at one replica, worked by one (virtual) thread, and cancellable
 * from other threads: the client going away, the stall watchdog, the request timeout.
 *
 * <p>Cancelling interrupts the working thread, which makes the JDK HTTP client abort the exchange
 * (a blocked {@code send} cancels it; a blocked body read fails and closing the body closes the
 * connection), so the replica sees its connection closed and stops generating. Invariant: the
 * thread is interrupted at most once, and never after {@link #finish()}.
 */
final class Attempt {

    /** Why an attempt was cancelled. */
    enum Cancel {
        CLIENT_GONE("the client closed its connection"),
        STALLED("the replica sent nothing"),
        TIMED_OUT("the request timeout passed");

        final String why;

        Cancel(String why) {
            this.why = why;
        }
    }

    final Replica replica;
    final long startNanos = System.nanoTime();
    private final Thread worker;
    private Cancel cancelled;
    private boolean finished;

    Attempt(Replica replica, Thread worker) {
        this.replica = replica;
        this.worker = worker;
    }

    /** Cancels unless already cancelled or finished; true if this call did. */
    synchronized boolean cancel(Cancel why) {
        if (finished || cancelled != null) {
            return false;
        }
        cancelled = why;
        worker.interrupt();
        return true;
    }

    /**
     * Ends the attempt for cancellation: after this no interrupt comes from it. Returns why it was
     * cancelled (the worker's interrupt flag is then cleared), or null.
     */
    Cancel finish() {
        Cancel why;
        synchronized (this) {
            finished = true;
            why = cancelled;
        }
        if (why != null) {
            Thread.interrupted();
        }
        return why;
    }

    /** Nanoseconds since anything came from this attempt's replica, counting from the attempt's start. */
    long silentNanos(long now) {
        return now - Math.max(startNanos, replica.lastHeardNanos());
    }
}
