package io.tessera.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise and reduction kernels on float arrays: RMSNorm, softmax, SiLU gating, dot products. */
public final class VectorMath {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    private VectorMath() {
    }

    /** Σ a[aOff+i]·b[bOff+i] for i < n. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= F.length()) {
            FloatVector acc = FloatVector.zero(F);
            int bound = F.loopBound(n);
            for (; i < bound; i += F.length()) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
            }
            sum = sumLanes(acc);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /**
     * The lanes of v added one after another in lane order: reduceLanes leaves the order open, and
     * compiled and interpreted code may then differ in the last bit.
     */
    public static float sumLanes(FloatVector v) {
        if (v.length() == 8) {
            // lane by lane: a vector stored into an array keeps the array from being optimised away
            return 0f + v.lane(0) + v.lane(1) + v.lane(2) + v.lane(3) + v.lane(4) + v.lane(5) + v.lane(6) + v.lane(7);
        }
        float[] l = new float[v.length()];
        v.intoArray(l, 0);
        float sum = 0f;
        for (float x : l) {
            sum += x;
        }
        return sum;
    }

    /** out[i] = x[i] · weight[i] / sqrt(mean(x²) + eps), over one row of length n. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n);
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = weight[i] * (scale * x[xOff + i]);
        }
    }

    /** In-place softmax over x[off, off+n). */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector m = FloatVector.broadcast(F, max);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(m));
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            float e = exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, off + i).mul(inv).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** gate[i] = silu(gate[i]) · up[i], the SwiGLU combination, over [off, off+n). */
    public static void siluMul(float[] gate, float[] up, int off, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, off + i);
            g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) {
            float g = gate[off + i];
            gate[off + i] = g / (exp(-g) + 1f) * up[off + i];
        }
    }

    /**
     * gate[i] = gelu(gate[i]) · up[i], the GeGLU combination, over [off, off+n), with GELU's tanh
     * approximation (Gemma's {@code gelu_pytorch_tanh}).
     */
    public static void geluMul(float[] gate, float[] up, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float g = gate[i];
            gate[i] = 0.5f * g * (1f + tanh(0.7978845608f * (g + 0.044715f * g * g * g))) * up[i];
        }
    }

    /** The logistic function {@code 1 / (1 + e^-x)}, with this class's exp. */
    public static float sigmoid(float x) {
        return 1f / (1f + exp(-x));
    }

    /** x[i] = cap · tanh(x[i] / cap) over [off, off+n): logit soft-capping. */
    public static void softcap(float[] x, int off, int n, float cap) {
        float inv = 1f / cap;
        for (int i = off; i < off + n; i++) {
            x[i] = cap * tanh(x[i] * inv);
        }
    }

    /** tanh from {@link #exp(float)} (1 − 2 / (e^2x + 1)), for the same reason exp is built by hand. */
    static float tanh(float x) {
        return 1f - 2f / (exp(2f * x) + 1f);
    }

    // exp from basic operations only (range reduction by ln 2, a degree-6 polynomial, the exponent
    // set by integer arithmetic): the Vector API's EXP runs a vector math library when compiled and
    // Math.exp when interpreted, and the two may differ in the last bit, which would make a token's
    // result depend on how warm the code was. Relative error about 2e-7 (tested against Math.exp).
    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f; // 1.5 · 2^23: adding it rounds to an integer
    private static final float MAX_ARG = 88f; // e^88 < 2^127: the exponent stays finite
    private static final float MIN_ARG = -87.3365479f; // below: results under the smallest normal

    /** e^x lane by lane, as {@link #exp(float)} computes it for each lane. */
    static FloatVector exp(FloatVector x) {
        x = x.max(MIN_ARG).min(MAX_ARG);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(1f / 720, 1f / 120).fma(r, FloatVector.broadcast(F, 1f / 24))
                .fma(r, FloatVector.broadcast(F, 1f / 6)).fma(r, FloatVector.broadcast(F, 0.5f))
                .fma(r, FloatVector.broadcast(F, 1f)).fma(r, FloatVector.broadcast(F, 1f));
        FloatVector scale = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return p.mul(scale);
    }

    /** e^x with the same operations as the vector form, for tails. */
    static float exp(float x) {
        x = Math.min(Math.max(x, MIN_ARG), MAX_ARG);
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x) + n * -LN2_LO;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, 1f / 720, 1f / 120), r, 1f / 24), r, 1f / 6),
                r, 0.5f), r, 1f), r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** acc[accOff+i] += a · x[xOff+i] for i < n. */
    public static void axpy(float[] acc, int accOff, float a, float[] x, int xOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, acc, accOff + i))
                    .intoArray(acc, accOff + i);
        }
        for (; i < n; i++) {
            acc[accOff + i] += a * x[xOff + i];
        }
    }

    /** x[i] ·= a over [off, off+n). */
    public static void scale(float[] x, int off, int n, float a) {
        for (int i = off; i < off + n; i++) {
            x[i] *= a;
        }
    }

    /** a[i] += b[i] over [0, n). */
    public static void add(float[] a, float[] b, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(a, i);
        }
        for (; i < n; i++) {
            a[i] += b[i];
        }
    }
}
