package io.tessera.benchmarks.serve;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.LockSupport;

/**
 * One load on a server: requests sent at the arrival process's instants, one virtual thread each,
 * at most {@code maxConcurrency} in flight, until {@code numPrompts} were sent or {@code duration}
 * seconds passed; then it waits for the last answer.
 *
 * <p>Arrival instants are kept on an absolute schedule from the start (not slept gap by gap), so
 * time spent sending does not slow the offered rate; a request held back by the concurrency limit
 * is sent as soon as a slot frees.
 */
public final class ServeLoad {

    /**
     * How much load: {@code numPrompts} requests, or as many as {@code durationSeconds} allow when
     * that is not null.
     */
    public record Plan(int numPrompts, Double durationSeconds, Integer maxConcurrency) {
        public Plan {
            if (numPrompts < 1) {
                throw new IllegalArgumentException("--num-prompts must be at least 1, got " + numPrompts);
            }
            if (maxConcurrency != null && maxConcurrency < 1) {
                throw new IllegalArgumentException("--max-concurrency must be at least 1, got " + maxConcurrency);
            }
            if (durationSeconds != null && !(durationSeconds > 0 && durationSeconds < 1e7)) {
                throw new IllegalArgumentException("--duration must be a positive number of seconds, got "
                        + durationSeconds);
            }
        }
    }

    /** The outcome of every request sent, the start (System.nanoTime) and the seconds it all took. */
    public record Run(List<ServeOutcome> outcomes, long startNanos, double elapsedSeconds) {
    }

    private ServeLoad() {
    }

    /**
     * Runs the load; prompts come from {@code prompts} with draws from a stream seeded by
     * {@code seed}, separate from the arrivals' own.
     */
    public static Run run(ServeClient client, PromptSource prompts, ArrivalProcess arrivals, Plan plan, long seed)
            throws InterruptedException {
        Random rnd = new Random(seed);
        List<ServeOutcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        Semaphore slots = plan.maxConcurrency() == null ? null : new Semaphore(plan.maxConcurrency());
        long start = System.nanoTime();
        long end = plan.durationSeconds() == null ? Long.MAX_VALUE : start + (long) (plan.durationSeconds() * 1e9);
        boolean timed = plan.durationSeconds() != null;
        double due = 0;
        int sent = 0;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            while ((timed || sent < plan.numPrompts()) && System.nanoTime() < end) {
                due += arrivals.nextGap();
                long at = start + (long) (due * 1e9);
                if (at >= end) {
                    break;
                }
                for (long wait; (wait = at - System.nanoTime()) > 0; ) {
                    LockSupport.parkNanos(wait);
                }
                if (slots != null) {
                    slots.acquire();
                    if (System.nanoTime() >= end) {
                        slots.release();
                        break;
                    }
                }
                ServePrompt p = prompts.prompt(sent, rnd);
                sent++;
                pool.submit(() -> {
                    try {
                        outcomes.add(client.send(p));
                    } finally {
                        if (slots != null) {
                            slots.release();
                        }
                    }
                });
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        synchronized (outcomes) {
            return new Run(List.copyOf(outcomes), start, elapsed);
        }
    }
}
