package io.tessera.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The element-wise kernels against plain double-precision references. */
class VectorMathTest {

    @Test
    void expIsAccurateAndTheSameInVectorsAndTails() {
        float[] xs = new float[4096];
        Random rnd = new Random(3);
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) (rnd.nextDouble() * 170 - 86); // -86 .. 84: every normal result
        }
        xs[0] = 0f;
        xs[1] = -87f;
        xs[2] = 88f;
        float[] lanes = new float[8];
        for (int i = 0; i < xs.length; i += 8) {
            VectorMath.exp(FloatVector.fromArray(VectorMath.F, xs, i)).intoArray(lanes, 0);
            for (int j = 0; j < 8; j++) {
                float x = xs[i + j];
                float scalar = VectorMath.exp(x);
                assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(lanes[j]), "exp(" + x + ")");
                double exact = Math.exp(x);
                assertEquals(exact, scalar, exact * 4e-7, "exp(" + x + ")");
            }
        }
        assertEquals(0f, VectorMath.exp(-200f), 1e-37f);
        assertTrue(Float.isFinite(VectorMath.exp(1000f)));
    }

    @Test
    void softmaxSumsToOneAndMatchesTheReference() {
        for (int n : new int[] {1, 7, 8, 29, 300}) {
            float[] x = new float[n + 2];
            double[] ref = new double[n];
            Random rnd = new Random(n);
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                x[1 + i] = (float) (rnd.nextGaussian() * 8);
                max = Math.max(max, x[1 + i]);
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                ref[i] = Math.exp(x[1 + i] - max);
                sum += ref[i];
            }
            VectorMath.softmax(x, 1, n);
            double total = 0;
            for (int i = 0; i < n; i++) {
                assertEquals(ref[i] / sum, x[1 + i], 1e-6, "n=" + n + " i=" + i);
                total += x[1 + i];
            }
            assertEquals(1.0, total, 1e-5);
        }
    }

    @Test
    void siluMulMatchesTheReference() {
        int n = 37;
        float[] gate = new float[n + 3];
        float[] up = new float[n + 3];
        Random rnd = new Random(5);
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) (rnd.nextGaussian() * 6);
            up[i] = (float) rnd.nextGaussian();
        }
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            double g = gate[3 + i];
            expected[i] = (float) (g / (1 + Math.exp(-g)) * up[3 + i]);
        }
        VectorMath.siluMul(gate, up, 3, n);
        for (int i = 0; i < n; i++) {
            assertEquals(expected[i], gate[3 + i], Math.abs(expected[i]) * 1e-6 + 1e-7, "i=" + i);
        }
    }

    @Test
    void geluMulAndSoftcapMatchTheReferenceAndSaturateWithoutNaN() {
        float[] xs = {-200f, -30f, -3f, -0.5f, -1e-4f, 0f, 1e-4f, 0.5f, 3f, 30f, 200f};
        float[] gate = xs.clone();
        float[] up = new float[xs.length];
        java.util.Arrays.fill(up, 2f);
        VectorMath.geluMul(gate, up, 0, xs.length);
        float[] capped = xs.clone();
        VectorMath.softcap(capped, 0, xs.length, 5f);
        for (int i = 0; i < xs.length; i++) {
            double x = xs[i];
            double gelu = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertEquals(2 * gelu, gate[i], Math.abs(gelu) * 1e-5 + 1e-6, "gelu x=" + x);
            assertEquals(5 * Math.tanh(x / 5), capped[i], 1e-5, "softcap x=" + x);
        }
    }
}
