package io.tessera.bench;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * How fast the JIT runs the integer tiles' inner loop at best: two weight rows times two token rows
 * of 16-bit integers, 2048 values each, all in L1, every step four loads, four 16-bit multiplies
 * and four adds (as {@code MatMul}'s lane tiles do). Two forms:
 * <ul>
 * <li>{@code flat}: one loop over the whole row, no scales, the sums kept in 16 bits: the most this
 * instruction mix gives;
 * <li>{@code chunked}: the tiles' real shape, a 16-step loop per 256 values and then per chunk the
 * neighbouring lanes summed as ints, converted and scaled into float sums.
 * </ul>
 * Prints one JSON object, multiply-adds per second per thread: {@code {"threads":2,
 * "flat_gmac_per_s_per_thread":..,"chunked_gmac_per_s_per_thread":..}}. Compare with
 * {@code MemoryProbe}'s 16-bit rate and with a matrix product's own ({@code KernelAB}).
 *
 * <p>usage: {@code java --add-modules jdk.incubator.vector -cp tessera-bench.jar io.tessera.bench.TileProbe [THREADS]}
 */
public final class TileProbe {

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int N = 2048;
    private static final int CHUNK = 256;

    private TileProbe() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        Data[] data = new Data[threads];
        for (int t = 0; t < threads; t++) {
            data[t] = new Data(new Random(t));
        }
        for (int i = 0; i < 20_000; i++) { // compiled before timing (not on-stack replacement)
            MemoryProbe.sink += flat(data[0]) + chunked(data[0]);
        }
        long reps = 1_000_000;
        double flat = 0;
        double chunked = 0;
        for (int round = 0; round < 3; round++) {
            flat = Math.max(flat, 4.0 * N * reps / MemoryProbe.run(threads, t -> repeat(data[t], reps, true)) / 1e9);
            chunked = Math.max(chunked, 4.0 * N * reps / MemoryProbe.run(threads, t -> repeat(data[t], reps, false)) / 1e9);
        }
        System.out.printf("{\"threads\":%d,\"flat_gmac_per_s_per_thread\":%.1f,\"chunked_gmac_per_s_per_thread\":%.1f}%n",
                threads, flat, chunked);
    }

    /** One thread's rows: two of weights, two of activations, and a scale per 32 values of each. */
    private static final class Data {
        final short[] w = new short[2 * N];
        final short[] x = new short[2 * N];
        final float[] ws = new float[2 * N / 32];
        final float[] xs = new float[2 * N / 32];
        final float[] acc = new float[32];

        Data(Random rnd) {
            for (int i = 0; i < w.length; i++) {
                w[i] = (short) (rnd.nextInt(16) - 8);
                x[i] = (short) (rnd.nextInt(255) - 127);
            }
            for (int i = 0; i < ws.length; i++) {
                ws[i] = rnd.nextFloat();
                xs[i] = rnd.nextFloat();
            }
        }
    }

    private static long repeat(Data d, long reps, boolean flat) {
        long s = 0;
        for (long i = 0; i < reps; i++) {
            s += flat ? flat(d) : chunked(d);
        }
        return s;
    }

    private static long flat(Data d) {
        short[] w = d.w;
        short[] x = d.x;
        ShortVector l00 = ShortVector.zero(S);
        ShortVector l01 = l00;
        ShortVector l10 = l00;
        ShortVector l11 = l00;
        for (int j = 0; j < N; j += 16) {
            ShortVector v = ShortVector.fromArray(S, w, j);
            ShortVector u = ShortVector.fromArray(S, w, N + j);
            ShortVector y = ShortVector.fromArray(S, x, j);
            ShortVector z = ShortVector.fromArray(S, x, N + j);
            l00 = l00.add(v.mul(y));
            l01 = l01.add(v.mul(z));
            l10 = l10.add(u.mul(y));
            l11 = l11.add(u.mul(z));
        }
        return l00.add(l01).add(l10).add(l11).reduceLanes(VectorOperators.ADD);
    }

    private static long chunked(Data d) {
        short[] w = d.w;
        short[] x = d.x;
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s01 = s00;
        FloatVector s10 = s00;
        FloatVector s11 = s00;
        for (int c = 0; c < N / CHUNK; c++) {
            int k = c * CHUNK;
            ShortVector l00 = ShortVector.zero(S);
            ShortVector l01 = l00;
            ShortVector l10 = l00;
            ShortVector l11 = l00;
            for (int j = 0; j < CHUNK; j += 16) { // flat's step, repeated: the loop's shape is what is measured
                ShortVector v = ShortVector.fromArray(S, w, k + j);
                ShortVector u = ShortVector.fromArray(S, w, N + k + j);
                ShortVector y = ShortVector.fromArray(S, x, k + j);
                ShortVector z = ShortVector.fromArray(S, x, N + k + j);
                l00 = l00.add(v.mul(y));
                l01 = l01.add(v.mul(z));
                l10 = l10.add(u.mul(y));
                l11 = l11.add(u.mul(z));
            }
            // written out: a helper returning a vector may be left uninlined and box it
            FloatVector dv = FloatVector.fromArray(F, d.ws, k >> 5);
            FloatVector du = FloatVector.fromArray(F, d.ws, (N + k) >> 5);
            FloatVector dy = FloatVector.fromArray(F, d.xs, k >> 5);
            FloatVector dz = FloatVector.fromArray(F, d.xs, (N + k) >> 5);
            IntVector p = l00.reinterpretAsInts();
            FloatVector f = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s00 = f.mul(dy).fma(dv, s00);
            p = l01.reinterpretAsInts();
            f = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s01 = f.mul(dz).fma(dv, s01);
            p = l10.reinterpretAsInts();
            f = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s10 = f.mul(dy).fma(du, s10);
            p = l11.reinterpretAsInts();
            f = (FloatVector) p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(p.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
            s11 = f.mul(dz).fma(du, s11);
        }
        s00.add(s01).add(s10).add(s11).intoArray(d.acc, 0);
        return Float.floatToRawIntBits(d.acc[0]);
    }
}
