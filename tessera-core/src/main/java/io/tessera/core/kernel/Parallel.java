package io.tessera.core.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits a range of independent work items (matrix rows, attention heads) over a fixed number of
 * threads: the calling thread plus {@code threads − 1} persistent workers. A decode step of a small
 * model is hundreds of operations of tens of microseconds each, so handing out work must cost far
 * less than that: workers spin briefly on a generation counter after each operation (so the next
 * one starts within a fraction of a microsecond) and only then park. The caller takes part in the
 * work and waits for the last chunk by spinning. {@code threads == 1} runs everything inline.
 *
 * <p>Chunks are claimed dynamically from a shared counter, so a worker slowed by another process
 * does not hold the others back; which thread computes an item never changes its result.
 */
public final class Parallel implements AutoCloseable {

    /** Body over a half-open range of items. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** How long an idle worker spins before parking (nanoseconds). */
    private static final long SPIN_NANOS = 200_000;
    /** Spins of a waiting caller before it starts yielding its core. */
    private static final int YIELD_AFTER_SPINS = 20_000;
    /** Chunks per thread for dynamic balancing. */
    private static final int CHUNKS_PER_THREAD = 4;

    private final int threads;
    private final Worker[] workers;
    private volatile Job job;
    private volatile boolean closed;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i);
            workers[i].thread.start();
        }
    }

    /** All available processors. */
    public static Parallel defaultThreads() {
        return new Parallel(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) in contiguous chunks of at least {@code minChunk} items (so tiny
     * ranges do not pay for a hand-off), returning when all are done. Chunk boundaries are
     * multiples of {@code minChunk} except for the last.
     */
    public void forRange(int n, int minChunk, RangeBody body) {
        int grain = Math.max(1, minChunk);
        int units = (n + grain - 1) / grain;
        int chunks = Math.min(units, threads * CHUNKS_PER_THREAD);
        if (chunks <= 1 || workers.length == 0 || Thread.currentThread() instanceof WorkerThread) {
            body.run(0, n);
            return;
        }
        Job j = new Job(body, n, grain, units, chunks);
        job = j;
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        j.work();
        int spins = 0;
        while (j.done.get() < chunks) {
            // a worker descheduled by an oversubscribed machine is waited for without burning the
            // time slice it needs
            if (++spins > YIELD_AFTER_SPINS) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        Throwable failure = j.failure;
        if (failure instanceof RuntimeException re) {
            throw re;
        } else if (failure instanceof Error e) {
            throw e;
        } else if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
    }

    private static final class Job {
        final RangeBody body;
        final int n;
        final int grain;
        final int units;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(RangeBody body, int n, int grain, int units, int chunks) {
            this.body = body;
            this.n = n;
            this.grain = grain;
            this.units = units;
            this.chunks = chunks;
        }

        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                int from = (int) ((long) units * c / chunks) * grain;
                int to = Math.min(n, (int) ((long) units * (c + 1) / chunks) * grain);
                try {
                    if (failure == null) {
                        body.run(from, to);
                    }
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static final class WorkerThread extends Thread {
        WorkerThread(Runnable r, String name) {
            super(r, name);
            setDaemon(true);
        }
    }

    private final class Worker implements Runnable {
        final Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.thread = new WorkerThread(this, "tessera-kernel-" + (index + 1));
        }

        @Override
        public void run() {
            Job seen = null;
            while (!closed) {
                Job j = job;
                if (j != seen && j != null) {
                    seen = j;
                    j.work();
                    continue;
                }
                long start = System.nanoTime();
                while ((j = job) == seen && !closed && System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                }
                if (j == seen && !closed) {
                    parked = true;
                    if (job == seen && !closed) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
