package io.tessera.bench;

import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Two builds of the kernels side by side in one JVM: each build's classes (a {@code
 * tessera-core/target/classes} directory or jar) are loaded by a class loader of their own, and the
 * two run the same matrix product in turn, a short timed run each, many times. On a machine whose
 * memory bandwidth moves by half within seconds, only ratios taken this close together mean
 * anything; the median of the per-pair ratios, with their range, is the result. The outputs'
 * checksums tell whether the two builds compute the same bits.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp tessera-bench/target/tessera-bench.jar
 * io.tessera.bench.KernelAB [--type Q4_K] [--rows 8192] [--in 2048] [--threads 1] [--tokens 1]
 * [--pairs 10] [--file-layout] OLD_CLASSES NEW_CLASSES}; weights are repacked as a loaded model's are,
 * unless {@code --file-layout}
 */
public final class KernelAB {

    /** Warm-up turns per build, 0.25 s each, before the first timed pair. */
    private static final int WARM_UP_ROUNDS = 4;

    private KernelAB() {
    }

    public static void main(String[] args) throws Exception {
        String type = "Q4_K";
        int rows = 8192;
        int in = 2048;
        int threads = 1;
        int tokens = 1;
        int pairs = 10;
        boolean fileLayout = false;
        List<Path> builds = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--type" -> type = args[++i];
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--in" -> in = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--pairs" -> pairs = Integer.parseInt(args[++i]);
                case "--file-layout" -> fileLayout = true;
                default -> builds.add(Path.of(args[i]));
            }
        }
        if (builds.size() != 2 || pairs < 1) {
            System.err.println("usage: KernelAB [--type T] [--rows N] [--in N] [--threads N] [--tokens N] [--pairs N]"
                    + " [--file-layout] OLD_CLASSES NEW_CLASSES");
            System.exit(2);
        }
        URL bench = KernelAB.class.getProtectionDomain().getCodeSource().getLocation();
        Method[] run = new Method[2];
        Method[] checksum = new Method[2];
        for (int s = 0; s < 2; s++) {
            if (!Files.exists(builds.get(s))) {
                throw new IllegalArgumentException("no such build: " + builds.get(s));
            }
            // the build's classes first, then this jar for Side; the platform loader as parent, so
            // that nothing of Tessera comes from the application class path
            ClassLoader loader = new URLClassLoader(new URL[] {builds.get(s).toUri().toURL(), bench},
                    ClassLoader.getPlatformClassLoader());
            Class<?> side = loader.loadClass(Side.class.getName());
            side.getMethod("setup", String.class, int.class, int.class, int.class, int.class, boolean.class)
                    .invoke(null, type, rows, in, threads, tokens, fileLayout);
            run[s] = side.getMethod("run", long.class);
            checksum[s] = side.getMethod("checksum");
        }
        // warm-up, the two builds in turn: C2 compiles in the background, and a build warmed up
        // only before the other had its first pairs run partly uncompiled (two copies of the same
        // classes, 128 tokens, 3 pairs: ratios up to 2.4 after one warm-up of 0.5 s each)
        for (int round = 0; round < WARM_UP_ROUNDS; round++) {
            for (int s = 0; s < 2; s++) {
                run[s].invoke(null, 250_000_000L);
            }
        }
        double[][] rate = new double[2][pairs];
        for (int p = 0; p < pairs; p++) {
            for (int k = 0; k < 2; k++) {
                int s = (p + k) % 2; // each build goes first in every other pair
                rate[s][p] = (double) run[s].invoke(null, 250_000_000L);
            }
        }
        double[] ratio = new double[pairs];
        for (int p = 0; p < pairs; p++) {
            ratio[p] = rate[1][p] / rate[0][p];
        }
        String unit = tokens == 1 ? "GB/s of weights" : "GFLOP/s";
        System.out.printf(Locale.ROOT, "%s, %d x %d, %d thread(s), %d token(s), %d pairs of 0.25 s%n", type, rows, in,
                threads, tokens, pairs);
        System.out.printf(Locale.ROOT, "old: median %.2f %s  (%s)%n", median(rate[0]), unit, builds.get(0));
        System.out.printf(Locale.ROOT, "new: median %.2f %s  (%s)%n", median(rate[1]), unit, builds.get(1));
        System.out.printf(Locale.ROOT, "new / old: median %.3f (%.3f-%.3f)%n", median(ratio),
                Arrays.stream(ratio).min().orElseThrow(), Arrays.stream(ratio).max().orElseThrow());
        Object a = checksum[0].invoke(null);
        Object b = checksum[1].invoke(null);
        System.out.println(a.equals(b) ? "outputs: the same bits" : "outputs differ: checksums " + a + " and " + b);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** One build's matrix product; loaded once per build, so its statics are that build's own. */
    public static final class Side {

        private static Tensor w;
        private static float[] x;
        private static float[] out;
        private static Parallel parallel;
        private static int tokens;

        private Side() {
        }

        public static void setup(String typeName, int rows, int in, int threads, int tokenCount, boolean fileLayout) {
            Random rnd = new Random(1); // both builds get the same weights and activations
            w = RandomMatrix.weights(GgmlType.parse(typeName), rows, in, rnd, fileLayout);
            tokens = tokenCount;
            x = RandomMatrix.activations(tokens * in, rnd);
            out = new float[tokens * rows];
            parallel = new Parallel(threads);
        }

        /** Products for about {@code nanos}; weight GB/s for one token, GFLOP/s for more. */
        public static double run(long nanos) {
            long products = 0;
            long t0 = System.nanoTime();
            long elapsed;
            do {
                MatMul.matmul(parallel, w, x, tokens, out);
                products++;
                elapsed = System.nanoTime() - t0;
            } while (elapsed < nanos);
            double perSecond = products / (elapsed / 1e9);
            return tokens == 1
                    ? perSecond * w.rowBytes() * w.rowCount() / 1e9
                    : perSecond * 2.0 * w.rowLength() * w.rowCount() * tokens / 1e9;
        }

        /** The last product's outputs, as raw bits: equal only if every output is. */
        public static int checksum() {
            int h = 1;
            for (float v : out) {
                h = 31 * h + Float.floatToRawIntBits(v);
            }
            return h;
        }
    }
}
