package io.tessera.bench;

import io.tessera.core.kernel.Parallel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What handing an operation to all threads costs: an empty {@link Parallel#forRange} against a
 * ForkJoinPool doing the same. A decode step of a 1B model is a few hundred such
 * hand-offs, so this must stay in the low microseconds.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ForkJoinBench {

    @Param({"2"})
    public int threads;

    private Parallel parallel;
    private java.util.concurrent.ForkJoinPool pool;
    private final long[] sink = new long[64];

    @Setup
    public void setup() {
        parallel = new Parallel(threads);
        pool = new java.util.concurrent.ForkJoinPool(threads);
    }

    @TearDown
    public void tearDown() {
        parallel.close();
        pool.shutdown();
    }

    @Benchmark
    public long parallelForRange() {
        parallel.forRange(threads * 16, 16, (from, to) -> sink[from & 63] += to);
        return sink[0];
    }

    /** What the first version of Parallel did: one task per thread on a ForkJoinPool. */
    @Benchmark
    public long forkJoinPoolInvokeAll() throws InterruptedException {
        java.util.List<java.util.concurrent.Callable<Integer>> tasks = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            tasks.add(() -> {
                sink[id & 63] += id;
                return id;
            });
        }
        pool.invokeAll(tasks);
        return sink[0];
    }
}
