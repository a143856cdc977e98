package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight matrix × activations: {@code out[t][r] = Σ_i W[r][i] · x[t][i]} for each of {@code tokens}
 * activation rows. W is an {@code [out, in]} tensor of any supported type, read in place from its
 * memory mapping; rows are split over the threads of a {@link Parallel}. Each weight row is decoded
 * once and applied to every token, so a batch reads the weights once.
 */
public final class MatMul {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MIN_ROWS_PER_THREAD = 16;

    private MatMul() {
    }

    /**
     * @param x activations, {@code tokens} rows of {@code w.rowLength()} floats
     * @param out results, {@code tokens} rows of {@code rows} floats where rows is W's row count
     */
    public static void matmul(Parallel parallel, Tensor w, float[] x, int tokens, float[] out) {
        int in = w.rowLength();
        int rows = Math.toIntExact(w.rowCount());
        if (x.length < (long) tokens * in || out.length < (long) tokens * rows) {
            throw new IllegalArgumentException("matmul " + w + ": buffers too small for " + tokens + " tokens");
        }
        if (w.type() == GgmlType.F32) {
            parallel.forRange(rows, MIN_ROWS_PER_THREAD, (from, to) -> f32Rows(w.data(), in, rows, x, tokens, out, from, to));
            return;
        }
        RowDecoder decoder = RowDecoder.of(w.type());
        long rowBytes = w.rowBytes();
        parallel.forRange(rows, MIN_ROWS_PER_THREAD, (from, to) -> {
            float[] row = new float[in];
            for (int r = from; r < to; r++) {
                decoder.decode(w.data(), r * rowBytes, row, in);
                for (int t = 0; t < tokens; t++) {
                    out[t * rows + r] = VectorMath.dot(row, 0, x, t * in, in);
                }
            }
        });
    }

    private static void f32Rows(MemorySegment seg, int in, int rows, float[] x, int tokens, float[] out,
            int from, int to) {
        int bound = F.loopBound(in);
        for (int r = from; r < to; r++) {
            long base = (long) r * in * Float.BYTES;
            for (int t = 0; t < tokens; t++) {
                int xo = t * in;
                FloatVector acc = FloatVector.zero(F);
                int i = 0;
                for (; i < bound; i += F.length()) {
                    FloatVector wv = FloatVector.fromMemorySegment(F, seg, base + (long) i * Float.BYTES,
                            ByteOrder.LITTLE_ENDIAN);
                    acc = wv.fma(FloatVector.fromArray(F, x, xo + i), acc);
                }
                float sum = acc.reduceLanes(VectorOperators.ADD);
                for (; i < in; i++) {
                    sum += seg.get(F32_LE, base + (long) i * Float.BYTES) * x[xo + i];
                }
                out[t * rows + r] = sum;
            }
        }
    }

    /** Copies row {@code r} of an embedding-like tensor into dst as floats. */
    public static void row(Tensor w, long r, float[] dst, int dstOff) {
        int in = w.rowLength();
        if (w.type() == GgmlType.F32) {
            MemorySegment.copy(w.data(), F32_LE, r * in * Float.BYTES, dst, dstOff, in);
            return;
        }
        float[] tmp = dstOff == 0 ? dst : new float[in];
        RowDecoder.of(w.type()).decode(w.data(), r * w.rowBytes(), tmp, in);
        if (tmp != dst) {
            System.arraycopy(tmp, 0, dst, dstOff, in);
        }
    }
}
