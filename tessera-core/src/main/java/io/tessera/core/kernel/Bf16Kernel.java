package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
/** bfloat16 weights (the upper half of a float), widened in registers. */
final class Bf16Kernel extends WeightKernel {

    static final Bf16Kernel INSTANCE = new Bf16Kernel();

    private Bf16Kernel() {
        super(GgmlType.BF16);
    }

    private static FloatVector bf16(MemorySegment w, long p) {
        IntVector bits = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE)
                .convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            long p = off + (long) i * 2;
            FloatVector s = load(w, p).mul(FloatVector.fromArray(F, x, xOff + i));
            s = load(w, p + 8 * 2).fma(FloatVector.fromArray(F, x, xOff + i + 8), s);
            s = load(w, p + 16 * 2).fma(FloatVector.fromArray(F, x, xOff + i + 16), s);
            s = load(w, p + 24 * 2).fma(FloatVector.fromArray(F, x, xOff + i + 24), s);
            acc = acc.add(s);
        }
        for (; i + 8 <= n; i += 8) {
            acc = load(w, off + (long) i * 2).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float sum = sum(acc);
        for (; i < n; i++) {
            sum += scalar(w, off + (long) i * 2) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            long p = off + (long) i * 2;
            FloatVector w0 = load(w, p);
            FloatVector w1 = load(w, p + 8 * 2);
            FloatVector w2 = load(w, p + 16 * 2);
            FloatVector w3 = load(w, p + 24 * 2);
            a0 = a0.add(block(w0, w1, w2, w3, x, x0 + i));
            a1 = a1.add(block(w0, w1, w2, w3, x, x1 + i));
            a2 = a2.add(block(w0, w1, w2, w3, x, x2 + i));
            a3 = a3.add(block(w0, w1, w2, w3, x, x3 + i));
        }
        for (; i + 8 <= n; i += 8) {
            FloatVector wv = load(w, off + (long) i * 2);
            a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = sum(a0);
        float s1 = sum(a1);
        float s2 = sum(a2);
        float s3 = sum(a3);
        for (; i < n; i++) {
            float wi = scalar(w, off + (long) i * 2);
            s0 += wi * x[x0 + i];
            s1 += wi * x[x1 + i];
            s2 += wi * x[x2 + i];
            s3 += wi * x[x3 + i];
        }
        out[outOff] = s0;
        out[outOff + outStride] = s1;
        out[outOff + 2 * outStride] = s2;
        out[outOff + 3 * outStride] = s3;
    }

    private static FloatVector block(FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3, float[] x,
            int xi) {
        FloatVector s = w0.mul(FloatVector.fromArray(F, x, xi));
        s = w1.fma(FloatVector.fromArray(F, x, xi + 8), s);
        s = w2.fma(FloatVector.fromArray(F, x, xi + 16), s);
        return w3.fma(FloatVector.fromArray(F, x, xi + 24), s);
    }

    private static FloatVector load(MemorySegment w, long p) {
        return bf16(w, p);
    }

    private static float scalar(MemorySegment w, long p) {
        return Float.intBitsToFloat(w.get(I16, p) << 16);
    }

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = scalar(w, off + (long) i * 2);
        }
    }
}
