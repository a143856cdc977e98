package io.tessera.bench;

import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Weight types side by side in one JVM: the same matrix product (an 8192 × 2048 matrix, a
 * Llama-3.2-1B FFN projection, repacked as a loaded model's is) in each type in turn, one second
 * each, for several rounds; per type the median of the per-round ratios to the first type, with
 * their range (on a shared machine only ratios taken this close together mean anything).
 *
 * <p>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * tessera-bench/target/tessera-bench.jar io.tessera.bench.WeightTypeAB TYPES TOKENS ROUNDS [THREADS [KERNELS]]},
 * e.g. {@code Q8_0,FP8,BF16 1 7 2 java}: the first type is the reference; KERNELS is java, native
 * or auto (the default; a type without a native kernel runs on Java either way).
 */
public final class WeightTypeAB {

    private WeightTypeAB() {
    }

    public static void main(String[] args) {
        String[] types = args[0].split(",");
        int tokens = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        Kernels.use(Kernels.Mode.valueOf((args.length > 4 ? args[4] : "auto").toUpperCase(Locale.ROOT)));
        int rows = 8192;
        int in = 2048;
        Tensor[] w = new Tensor[types.length];
        Random rnd = new Random(1);
        for (int k = 0; k < types.length; k++) {
            w[k] = RandomMatrix.weights(GgmlType.parse(types[k]), rows, in, new Random(1), false);
        }
        float[] x = RandomMatrix.activations(tokens * in, rnd);
        float[] out = new float[tokens * rows];
        List<List<Double>> ratios = new ArrayList<>();
        for (int k = 0; k < types.length; k++) {
            ratios.add(new ArrayList<>());
        }
        try (Parallel p = new Parallel(threads)) {
            for (int r = 0; r < rounds; r++) {
                double[] gflops = new double[types.length];
                StringBuilder line = new StringBuilder("round " + r + ":");
                for (int k = 0; k < types.length; k++) {
                    for (int i = 0; i < 3; i++) {
                        MatMul.matmul(p, w[k], x, tokens, out);
                    }
                    int n = 0;
                    long t0 = System.nanoTime();
                    while (System.nanoTime() - t0 < 1_000_000_000L) {
                        MatMul.matmul(p, w[k], x, tokens, out);
                        n++;
                    }
                    gflops[k] = 2.0 * rows * in * tokens * n / (System.nanoTime() - t0);
                    double bytesPerFlop = w[k].type().bytesFor(in) / (2.0 * tokens * in);
                    line.append(String.format(" %s %.1f GFLOP/s (%.2f GB/s of weights)", types[k], gflops[k],
                            gflops[k] * bytesPerFlop));
                    ratios.get(k).add(gflops[k] / gflops[0]);
                }
                System.out.println(line);
            }
        }
        for (int k = 1; k < types.length; k++) {
            List<Double> q = ratios.get(k);
            Collections.sort(q);
            System.out.printf("%s/%s tokens %d, %d threads: median %.2f (range %.2f-%.2f, %d rounds, %s)%n", types[k],
                    types[0], tokens, threads, q.get(q.size() / 2), q.get(0), q.get(q.size() - 1), rounds,
                    Kernels.best());
        }
    }
}
