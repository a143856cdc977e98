package io.tessera.core.kernel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Splits a range of independent work items (matrix rows, attention heads) over a fixed number of
 * threads. One instance per model runner; {@code threads == 1} runs inline with no pool at all.
 */
public final class Parallel implements AutoCloseable {

    /** Body over a half-open range of items. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final ForkJoinPool pool;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    /** All available processors. */
    public static Parallel defaultThreads() {
        return new Parallel(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) in at most {@code threads} contiguous chunks, each at least
     * {@code minChunk} items long so that tiny ranges do not pay for a fork.
     */
    public void forRange(int n, int minChunk, RangeBody body) {
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1 || pool == null) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n;
        private final int chunks;
        private final int first;
        private final int last;

        Chunk(RangeBody body, int n, int chunks, int first, int last) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.first = first;
            this.last = last;
        }

        @Override
        protected void compute() {
            if (last - first == 1) {
                body.run((int) ((long) n * first / chunks), (int) ((long) n * last / chunks));
                return;
            }
            int mid = (first + last) >>> 1;
            invokeAll(new Chunk(body, n, chunks, first, mid), new Chunk(body, n, chunks, mid, last));
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
