package io.tessera.core.kernel;

/**
 * The activations of one W8A8 matrix operation rounded to int8, one scale per token (dynamic
 * per-token quantization, as SmoothQuant and vLLM's int8 kernels do): {@code scale_t = max|x_t| / 127},
 * {@code q = rint(x · 127 / max|x_t|)}, so every code lies in [-127, 127].
 *
 * <p>With an outlier threshold (LLM.int8()'s mixed decomposition), a token's columns whose magnitude
 * exceeds it are listed in ascending order, left out of its maximum and given the code 0: they are
 * multiplied in float afterwards ({@link W8A8MatMul}). Which columns those are depends on the token
 * alone, so a token's result does not depend on its batch.
 *
 * <p>Made once by the calling thread before an operation's threads start, then only read. The
 * buffers are the thread's and grow on demand.
 */
final class Int8Activations {

    /** Codes, {@code tokens × in}, for the native kernels. */
    byte[] codes = new byte[0];
    /** The same codes widened to 16 bits, for the Vector API kernel (which multiplies 16-bit lanes). */
    short[] wide = new short[0];
    /** Per token: the scale, and the sum of its codes (the native kernels' unsigned-weight correction). */
    float[] scale = new float[0];
    int[] codeSum = new int[0];
    /** Per token t: its outlier columns are {@code outliers[outlierStart[t] .. outlierStart[t + 1])}. */
    int[] outlierStart = new int[1];
    int[] outliers = new int[0];
    float[] x;
    int tokens;
    int in;

    /**
     * Rounds {@code tokens} rows of {@code in} values of x; {@code threshold} 0 for no outlier
     * columns; {@code wideToo} when a Java kernel will read {@link #wide}.
     */
    void quantize(float[] x, int tokens, int in, float threshold, boolean wideToo) {
        int n = Math.multiplyExact(tokens, in);
        if (x.length < n) {
            throw new IllegalArgumentException("activations: " + tokens + " rows of " + in + " values exceed " + x.length);
        }
        this.x = x;
        this.tokens = tokens;
        this.in = in;
        if (codes.length < n) {
            codes = new byte[n];
        }
        if (wideToo && wide.length < n) {
            wide = new short[n];
        }
        if (scale.length < tokens) {
            scale = new float[tokens];
            codeSum = new int[tokens];
        }
        if (outlierStart.length < tokens + 1) {
            outlierStart = new int[tokens + 1];
        }
        int found = 0;
        for (int t = 0; t < tokens; t++) {
            int o = t * in;
            float max = 0;
            for (int i = 0; i < in; i++) {
                float a = Math.abs(x[o + i]);
                if (threshold > 0 && a > threshold) {
                    if (found == outliers.length) {
                        outliers = java.util.Arrays.copyOf(outliers, Math.max(16, 2 * found));
                    }
                    outliers[found++] = i;
                } else if (a > max || Float.isNaN(a)) {
                    max = a;
                }
            }
            outlierStart[t + 1] = found;
            float inv = max == 0 ? 0 : 127f / max;
            int sum = 0;
            int next = outlierStart[t];
            for (int i = 0; i < in; i++) {
                int q;
                if (next < found && outliers[next] == i) {
                    next++;
                    q = 0;
                } else {
                    q = (int) Math.max(-127f, Math.min(127f, (float) Math.rint(x[o + i] * inv)));
                }
                codes[o + i] = (byte) q;
                sum += q;
            }
            if (wideToo) {
                for (int i = 0; i < in; i++) {
                    wide[o + i] = codes[o + i];
                }
            }
            scale[t] = max / 127f;
            codeSum[t] = sum;
        }
    }

    /** Whether any token has an outlier column. */
    boolean hasOutliers() {
        return outlierStart[tokens] > 0;
    }
}
