package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * F16: IEEE half-precision weights. The Vector API has no half-to-float conversion, so eight halves
 * are widened with integer operations: the sign-extended 16 bits shifted left by 13 put exponent
 * and mantissa in place, masking with 0x8FFFFFFF keeps the sign in bit 31, and multiplying by
 * 2^112 rebiases the exponent (which also turns half subnormals into the right floats). Infinities
 * and NaNs, which weights do not hold, come out as large finite values.
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class F16Kernel extends WeightKernel {

    static final F16Kernel INSTANCE = new F16Kernel();

    private F16Kernel() {
        super(GgmlType.F16);
    }

    @Override
    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F);
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            long p = off + (long) i * 2;
            int xi = i;
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 16, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w2 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 32, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w3 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 48, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, xOff + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, xOff + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, xOff + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, xOff + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = a0.add(s0);
        }
        for (; i + 8 <= n; i += 8) {
            long p = off + (long) i * 2;
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float[] l = new float[8];
        a0.intoArray(l, 0);
        float sum = lanes(l, 0);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(w.get(I16, off + (long) i * 2)) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,
            int outStride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            long p = off + (long) i * 2;
            int xi = i;
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 16, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w2 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 32, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector w3 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p + 48, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + xi + 0));
            FloatVector u0 = w2.mul(FloatVector.fromArray(F, x, x0 + xi + 16));
            s0 = w1.fma(FloatVector.fromArray(F, x, x0 + xi + 8), s0);
            u0 = w3.fma(FloatVector.fromArray(F, x, x0 + xi + 24), u0);
            s0 = s0.add(u0);
            a0 = a0.add(s0);
            FloatVector s1 = w0.mul(FloatVector.fromArray(F, x, x1 + xi + 0));
            FloatVector u1 = w2.mul(FloatVector.fromArray(F, x, x1 + xi + 16));
            s1 = w1.fma(FloatVector.fromArray(F, x, x1 + xi + 8), s1);
            u1 = w3.fma(FloatVector.fromArray(F, x, x1 + xi + 24), u1);
            s1 = s1.add(u1);
            a1 = a1.add(s1);
            FloatVector s2 = w0.mul(FloatVector.fromArray(F, x, x2 + xi + 0));
            FloatVector u2 = w2.mul(FloatVector.fromArray(F, x, x2 + xi + 16));
            s2 = w1.fma(FloatVector.fromArray(F, x, x2 + xi + 8), s2);
            u2 = w3.fma(FloatVector.fromArray(F, x, x2 + xi + 24), u2);
            s2 = s2.add(u2);
            a2 = a2.add(s2);
            FloatVector s3 = w0.mul(FloatVector.fromArray(F, x, x3 + xi + 0));
            FloatVector u3 = w2.mul(FloatVector.fromArray(F, x, x3 + xi + 16));
            s3 = w1.fma(FloatVector.fromArray(F, x, x3 + xi + 8), s3);
            u3 = w3.fma(FloatVector.fromArray(F, x, x3 + xi + 24), u3);
            s3 = s3.add(u3);
            a3 = a3.add(s3);
        }
        for (; i + 8 <= n; i += 8) {
            long p = off + (long) i * 2;
            FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, p, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float[] l = new float[32];
        a0.intoArray(l, 0);
        a1.intoArray(l, 8);
        a2.intoArray(l, 16);
        a3.intoArray(l, 24);
        float s0 = lanes(l, 0);
        float s1 = lanes(l, 8);
        float s2 = lanes(l, 16);
        float s3 = lanes(l, 24);
        for (; i < n; i++) {
            float wi = Float.float16ToFloat(w.get(I16, off + (long) i * 2));
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

    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(w.get(I16, off + (long) i * 2));
        }
    }
}
