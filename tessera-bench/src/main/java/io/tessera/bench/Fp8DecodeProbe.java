package io.tessera.bench;

import io.tessera.core.quant.Float8;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Two ways of rebuilding FP8 E4M3 weights in registers, timed against each other on one thread in
 * alternating rounds: from the bits (sign-extend, shift, mask, one multiplication by scale·2^120:
 * what {@code Fp8Kernel} does) and by looking each code up in a 256-entry float table (the Vector
 * API's only table lookup beyond one vector is a gather from an int index array). Both compute the
 * same dot products in the same order; the results must agree bit for bit. The loops are written
 * out without helpers taking or returning vectors (such helpers may stop being inlined and box).
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp tessera-bench/target/tessera-bench.jar
 * io.tessera.bench.Fp8DecodeProbe ROWS ROUNDS}: ROWS × 2048 weights (256 rows stay in L2, 8192 come
 * from L3 or memory).
 */
public final class Fp8DecodeProbe {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final float[] TABLE = new float[256];

    static {
        for (int c = 0; c < 256; c++) {
            TABLE[c] = Float8.isE4m3NaN((byte) c) ? 0 : Float8.e4m3ToFloat((byte) c);
        }
    }

    private Fp8DecodeProbe() {
    }

    public static void main(String[] args) {
        int rows = Integer.parseInt(args[0]);
        int rounds = Integer.parseInt(args[1]);
        int in = 2048;
        Random rnd = new Random(1);
        Tensor w = RandomMatrix.weights(GgmlType.FP8, rows, in, rnd, true);
        float[] x = RandomMatrix.activations(in, rnd);
        long rowBytes = w.rowBytes();
        List<Double> ratios = new ArrayList<>();
        int[] idx = new int[8];
        for (int r = -2; r < rounds; r++) { // two rounds of warm-up, not counted
            double[] rate = new double[2];
            float[] sums = new float[2];
            for (int m = 0; m < 2; m++) {
                long n = 0;
                float s = 0;
                long t0 = System.nanoTime();
                while (System.nanoTime() - t0 < 1_000_000_000L) {
                    for (int row = 0; row < rows; row++) {
                        s += m == 0 ? bits(w.data(), row * rowBytes, x, in) : table(w.data(), row * rowBytes, x, in, idx);
                    }
                    n++;
                }
                rate[m] = (double) n * rows * in / (System.nanoTime() - t0);
                sums[m] = s / n;
            }
            if (r >= 0) {
                ratios.add(rate[1] / rate[0]);
            }
            System.out.printf("round %d: bits %.2f G weights/s, table %.2f G weights/s, table/bits %.2f%n", r, rate[0],
                    rate[1], rate[1] / rate[0]);
        }
        float a = 0;
        float b = 0;
        for (int row = 0; row < rows; row++) {
            a += bits(w.data(), row * rowBytes, x, in);
            b += table(w.data(), row * rowBytes, x, in, idx);
        }
        if (Float.floatToRawIntBits(a) != Float.floatToRawIntBits(b)) {
            throw new IllegalStateException("the two decodings differ: " + a + " vs " + b);
        }
        Collections.sort(ratios);
        System.out.printf("%d rows × %d: table/bits median %.2f (range %.2f-%.2f, %d rounds)%n", rows, in,
                ratios.get(ratios.size() / 2), ratios.get(0), ratios.get(ratios.size() - 1), rounds);
    }

    /** Fp8Kernel's dot: codes rebuilt from their bits. */
    static float bits(MemorySegment w, long off, float[] x, int n) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, blk = 0; i < n; i += 64, blk++) {
            long p = off + (long) blk * 68;
            FloatVector d = FloatVector.broadcast(F, w.get(F32, p) * 0x1p120f);
            for (int h = 0; h < 64; h += 32) {
                FloatVector w0 = ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 4 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats().mul(d);
                FloatVector w1 = ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 12 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats().mul(d);
                FloatVector w2 = ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 20 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats().mul(d);
                FloatVector w3 = ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 28 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats().mul(d);
                FloatVector s = w0.mul(FloatVector.fromArray(F, x, i + h));
                FloatVector u = w2.mul(FloatVector.fromArray(F, x, i + h + 16));
                s = w1.fma(FloatVector.fromArray(F, x, i + h + 8), s);
                u = w3.fma(FloatVector.fromArray(F, x, i + h + 24), u);
                a = a.add(s.add(u));
            }
        }
        return ((a.lane(0) + a.lane(1)) + (a.lane(2) + a.lane(3))) + ((a.lane(4) + a.lane(5)) + (a.lane(6) + a.lane(7)));
    }

    /** The same, codes looked up in the table. */
    static float table(MemorySegment w, long off, float[] x, int n, int[] idx) {
        FloatVector a = FloatVector.zero(F);
        for (int i = 0, blk = 0; i < n; i += 64, blk++) {
            long p = off + (long) blk * 68;
            FloatVector d = FloatVector.broadcast(F, w.get(F32, p));
            for (int h = 0; h < 64; h += 32) {
                ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 4 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).and(0xFF).intoArray(idx, 0);
                FloatVector w0 = FloatVector.fromArray(F, TABLE, 0, idx, 0).mul(d);
                ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 12 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).and(0xFF).intoArray(idx, 0);
                FloatVector w1 = FloatVector.fromArray(F, TABLE, 0, idx, 0).mul(d);
                ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 20 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).and(0xFF).intoArray(idx, 0);
                FloatVector w2 = FloatVector.fromArray(F, TABLE, 0, idx, 0).mul(d);
                ((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, p + 28 + h, LE).convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).and(0xFF).intoArray(idx, 0);
                FloatVector w3 = FloatVector.fromArray(F, TABLE, 0, idx, 0).mul(d);
                FloatVector s = w0.mul(FloatVector.fromArray(F, x, i + h));
                FloatVector u = w2.mul(FloatVector.fromArray(F, x, i + h + 16));
                s = w1.fma(FloatVector.fromArray(F, x, i + h + 8), s);
                u = w3.fma(FloatVector.fromArray(F, x, i + h + 24), u);
                a = a.add(s.add(u));
            }
        }
        return ((a.lane(0) + a.lane(1)) + (a.lane(2) + a.lane(3))) + ((a.lane(4) + a.lane(5)) + (a.lane(6) + a.lane(7)));
    }

}
