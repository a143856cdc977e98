package io.tessera.bench;

import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The Java and the native kernels ({@code --kernels java|native}) side by side in one JVM: the same
 * matrix product in turn, one second each, for several rounds; the median of the per-round ratios
 * native ÷ java, with their range, is the result (on a shared machine only ratios taken this close
 * together mean anything). The outputs must be the same bits; a difference stops the run.
 *
 * <p>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * tessera-bench/target/tessera-bench.jar io.tessera.bench.NativeAB TYPES TOKENS ROUNDS [THREADS]},
 * e.g. {@code Q8_0,Q4_0,F16 64 5}: an 8192 × 2048 matrix (a Llama-3.2-1B FFN projection), repacked
 * as a loaded model's is.
 */
public final class NativeAB {

    private NativeAB() {
    }

    public static void main(String[] args) {
        String[] types = args[0].split(",");
        int tokens = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int rows = 8192;
        int in = 2048;
        try (Parallel p = new Parallel(threads)) {
            for (String type : types) {
                Random rnd = new Random(1);
                Tensor w = RandomMatrix.weights(GgmlType.parse(type), rows, in, rnd, false);
                float[] x = RandomMatrix.activations(tokens * in, rnd);
                float[][] out = new float[2][tokens * rows];
                List<Double> ratios = new ArrayList<>();
                for (int r = 0; r < rounds; r++) {
                    double[] gflops = new double[2];
                    for (int m = 0; m < 2; m++) {
                        Kernels.use(m == 0 ? Kernels.Mode.JAVA : Kernels.Mode.NATIVE);
                        for (int i = 0; i < 3; i++) {
                            MatMul.matmul(p, w, x, tokens, out[m]);
                        }
                        int n = 0;
                        long t0 = System.nanoTime();
                        while (System.nanoTime() - t0 < 1_000_000_000L) {
                            MatMul.matmul(p, w, x, tokens, out[m]);
                            n++;
                        }
                        gflops[m] = 2.0 * rows * in * tokens * n / (System.nanoTime() - t0);
                    }
                    if (!Arrays.equals(out[0], out[1])) {
                        throw new IllegalStateException(type + ": the native kernels' results differ from the Java kernels'");
                    }
                    ratios.add(gflops[1] / gflops[0]);
                    double bytesPerFlop = w.type().bytesFor(in) / (2.0 * tokens * in);
                    System.out.printf("%s tokens %d round %d: java %.1f GFLOP/s (%.2f GB/s of weights), native %.1f GFLOP/s "
                            + "(%.2f GB/s), native/java %.2f%n", type, tokens, r, gflops[0], gflops[0] * bytesPerFlop,
                            gflops[1], gflops[1] * bytesPerFlop, gflops[1] / gflops[0]);
                }
                Collections.sort(ratios);
                System.out.printf("%s tokens %d, %d threads: native/java median %.2f (range %.2f-%.2f, %s)%n", type, tokens,
                        threads, ratios.get(ratios.size() / 2), ratios.get(0), ratios.get(ratios.size() - 1), Kernels.best());
            }
        }
    }
}
