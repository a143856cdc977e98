package io.tessera.bench;

import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * Weight matrix × activations at the shapes of a Llama-3.2-1B FFN projection (8192 × 2048). With
 * {@code tokens = 1} (decode) the {@code bytes} counter gives the weight bytes read per second (compare
 * with {@link MemoryProbe}'s bandwidth); with more tokens (prefill, batched decode) the {@code flops}
 * counter gives FLOP/s (compare with its FMA peak). Run:
 * {@code java --add-modules jdk.incubator.vector -jar tessera-bench/target/tessera-bench.jar MatMulBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatMulBench {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K", "FP8"})
    public String type;

    @Param({"1", "32"})
    public int tokens;

    @Param({"2"})
    public int threads;

    @Param({"2048"})
    public int in;

    @Param({"8192"})
    public int rows;

    /** "model": the layout a loaded model computes on (repacked where a type has a faster one); "file": as stored. */
    @Param({"model"})
    public String layout;

    /** Which kernels multiply ({@code --kernels}): java, native or auto. */
    @Param({"java", "native"})
    public String kernels;

    private Parallel parallel;
    private Tensor w;
    private float[] x;
    private float[] out;

    /** Weight bytes and floating-point operations done, per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Work {
        public long bytes;
        public long flops;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
            flops = 0;
        }
    }

    @Setup
    public void setup() {
        Random rnd = new Random(1);
        w = RandomMatrix.weights(GgmlType.parse(type), rows, in, rnd, layout.equals("file"));
        x = RandomMatrix.activations(tokens * in, rnd);
        out = new float[tokens * rows];
        parallel = new Parallel(threads);
        Kernels.use(Kernels.Mode.parse(kernels));
    }

    @TearDown
    public void tearDown() {
        parallel.close();
    }

    @Benchmark
    public float matmul(Work work) {
        MatMul.matmul(parallel, w, x, tokens, out);
        work.bytes += w.type().bytesFor((long) in * rows);
        work.flops += 2L * in * rows * tokens;
        return out[0];
    }
}
