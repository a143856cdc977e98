package io.tessera.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's own limits, measured the way the kernels use it: memory read bandwidth (every
 * thread streams its share of a buffer far larger than the caches, 256-bit loads) and the peak of
 * 256-bit fused multiply-adds from registers; next to it, the rate of 16-bit integer multiplies
 * each followed by an add (what the integer kernels' tiles run), in multiply-adds per second.
 * Prints one JSON object: {@code {"threads":2,"read_gb_per_s":..,"fma_gflop_per_s":..,
 * "fma_gmac_per_s":..,"int16_gmac_per_s":..}}.
 *
 * <p>usage: {@code java --add-modules jdk.incubator.vector -cp tessera-bench.jar io.tessera.bench.MemoryProbe [THREADS] [MiB]}
 */
public final class MemoryProbe {

    private static final VectorSpecies<Long> L = LongVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;

    private MemoryProbe() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        long mib = args.length > 1 ? Long.parseLong(args[1]) : 1024;
        long bytes = mib << 20;
        MemorySegment seg = Arena.global().allocate(bytes, 4096);
        seg.fill((byte) 1);
        for (int i = 0; i < 200; i++) { // compile the loops before timing them (not on-stack replacement)
            sink += read(seg, 0, 1 << 20) + fma(20_000) + mulAdd16(20_000);
        }
        double bw = 0;
        for (int rep = 0; rep < 5; rep++) {
            bw = Math.max(bw, bytes / run(threads, t -> read(seg, bytes * t / threads, bytes * (t + 1) / threads)) / 1e9);
        }
        long fmaIters = 50_000_000L;
        double flops = 0;
        for (int rep = 0; rep < 3; rep++) {
            double s = run(threads, t -> fma(fmaIters));
            flops = Math.max(flops, threads * fmaIters * 8.0 * F.length() * 2 / s / 1e9);
        }
        double macs16 = 0;
        for (int rep = 0; rep < 3; rep++) {
            double s = run(threads, t -> mulAdd16(fmaIters));
            macs16 = Math.max(macs16, threads * fmaIters * 12.0 * S.length() / s / 1e9);
        }
        System.out.printf("{\"threads\":%d,\"read_gb_per_s\":%.2f,\"fma_gflop_per_s\":%.1f,\"fma_gmac_per_s\":%.1f,"
                + "\"int16_gmac_per_s\":%.1f}%n", threads, bw, flops, flops / 2, macs16);
    }

    interface Body {
        long run(int thread);
    }

    static volatile long sink;

    /** Seconds for all threads to run their share, started together. */
    static double run(int threads, Body body) throws Exception {
        CyclicBarrier barrier = new CyclicBarrier(threads + 1);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                try {
                    barrier.await();
                    sink += body.run(id);
                    barrier.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ts[t].start();
        }
        barrier.await();
        long t0 = System.nanoTime();
        barrier.await();
        long t1 = System.nanoTime();
        for (Thread t : ts) {
            t.join();
        }
        return (t1 - t0) / 1e9;
    }

    private static long read(MemorySegment seg, long from, long to) {
        LongVector a0 = LongVector.zero(L);
        LongVector a1 = a0;
        long end = from + ((to - from) & ~127L);
        for (long p = from; p < end; p += 128) {
            a0 = a0.add(LongVector.fromMemorySegment(L, seg, p, ByteOrder.LITTLE_ENDIAN))
                    .add(LongVector.fromMemorySegment(L, seg, p + 32, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(LongVector.fromMemorySegment(L, seg, p + 64, ByteOrder.LITTLE_ENDIAN))
                    .add(LongVector.fromMemorySegment(L, seg, p + 96, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).lane(0);
    }

    private static long fma(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999f);
        FloatVector c = FloatVector.broadcast(F, 0.001f);
        FloatVector a0 = FloatVector.broadcast(F, 1f);
        FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
        }
        return (long) a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).lane(0);
    }

    /** Twelve independent chains of a 16-bit multiply then add (a multiply needs three cycles, so ten or more). */
    private static long mulAdd16(long iters) {
        ShortVector m = ShortVector.broadcast(S, (short) 3);
        ShortVector c = ShortVector.broadcast(S, (short) 7);
        ShortVector a0 = ShortVector.broadcast(S, (short) 1);
        ShortVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++) {
            a0 = a0.mul(m).add(c);
            a1 = a1.mul(m).add(c);
            a2 = a2.mul(m).add(c);
            a3 = a3.mul(m).add(c);
            a4 = a4.mul(m).add(c);
            a5 = a5.mul(m).add(c);
            a6 = a6.mul(m).add(c);
            a7 = a7.mul(m).add(c);
            a8 = a8.mul(m).add(c);
            a9 = a9.mul(m).add(c);
            a10 = a10.mul(m).add(c);
            a11 = a11.mul(m).add(c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).lane(0);
    }
}
