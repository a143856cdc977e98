package io.tessera.planner.calibrate;

import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Micro-benchmarks of this machine: sustained memory read bandwidth (a vectorized sum over arrays
 * far larger than the last-level cache) and matrix-multiply FLOP/s (a register-blocked FMA kernel
 * on cache-resident data), both on {@code threads} threads. They give the CPU's peaks; the engine's
 * measured steps then give efficiencies relative to them.
 */
public final class Probes {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Probes() {
    }

    /** Best of {@code runs} passes reading {@code megabytes} per thread, in bytes/s. */
    public static double memoryBandwidth(int threads, int megabytes, int runs) throws Exception {
        int n = megabytes * 1024 * 1024 / 4;
        float[][] data = new float[threads][n];
        for (float[] d : data) {
            Arrays.fill(d, 1f);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = 0;
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                Future<?>[] fs = new Future<?>[threads];
                float[] sink = new float[threads];
                for (int t = 0; t < threads; t++) {
                    int tt = t;
                    fs[t] = pool.submit(() -> sink[tt] = sum(data[tt]));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (sink[0] < 0) {
                    throw new IllegalStateException();
                }
                best = Math.max(best, (double) threads * n * 4 / s);
            }
            return best;
        } finally {
            pool.shutdownNow();
        }
    }

    private static float sum(float[] a) {
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        int step = S.length() * 2;
        int i = 0;
        for (; i + step <= a.length; i += step) {
            acc0 = acc0.add(FloatVector.fromArray(S, a, i));
            acc1 = acc1.add(FloatVector.fromArray(S, a, i + S.length()));
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < a.length; i++) {
            s += a[i];
        }
        return s;
    }

    /** Best of {@code runs} multiplications of n x n matrices per thread, in FLOP/s. */
    public static double matmulFlops(int threads, int n, int runs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            float[][] a = new float[threads][n * n];
            float[][] b = new float[threads][n * n];
            float[][] c = new float[threads][n * n];
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < n * n; i++) {
                    a[t][i] = (i % 7) * 0.1f;
                    b[t][i] = (i % 5) * 0.1f;
                }
            }
            double best = 0;
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                Future<?>[] fs = new Future<?>[threads];
                for (int t = 0; t < threads; t++) {
                    int tt = t;
                    fs[t] = pool.submit(() -> matmul(a[tt], b[tt], c[tt], n));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, threads * 2.0 * n * n * n / s);
            }
            return best;
        } finally {
            pool.shutdownNow();
        }
    }

    /** C = A x B, row-major, four rows of C at a time so each loaded B vector feeds four FMAs. */
    static void matmul(float[] a, float[] b, float[] c, int n) {
        int w = S.length();
        for (int i = 0; i + 4 <= n; i += 4) {
            for (int j = 0; j + w <= n; j += w) {
                FloatVector c0 = FloatVector.zero(S);
                FloatVector c1 = FloatVector.zero(S);
                FloatVector c2 = FloatVector.zero(S);
                FloatVector c3 = FloatVector.zero(S);
                for (int k = 0; k < n; k++) {
                    FloatVector bv = FloatVector.fromArray(S, b, k * n + j);
                    c0 = FloatVector.broadcast(S, a[i * n + k]).fma(bv, c0);
                    c1 = FloatVector.broadcast(S, a[(i + 1) * n + k]).fma(bv, c1);
                    c2 = FloatVector.broadcast(S, a[(i + 2) * n + k]).fma(bv, c2);
                    c3 = FloatVector.broadcast(S, a[(i + 3) * n + k]).fma(bv, c3);
                }
                c0.intoArray(c, i * n + j);
                c1.intoArray(c, (i + 1) * n + j);
                c2.intoArray(c, (i + 2) * n + j);
                c3.intoArray(c, (i + 3) * n + j);
            }
        }
    }
}
