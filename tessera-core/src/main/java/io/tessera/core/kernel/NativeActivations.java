package io.tessera.core.kernel;

/**
 * The activations of one matrix operation in the forms the native kernels take: the floats as
 * given, and for the integer lane layouts the values rounded to 8 bits ({@link NativeKernels#quantize},
 * the same integers and scales as {@link Q8Activations}) in each layout the operation's weights need.
 * Made by the calling thread before the operation's threads start, then only read; the buffers are
 * the calling thread's and grow on demand.
 */
final class NativeActivations {

    private float[] x;
    private int tokens;
    private int in;
    private final byte[][] rounded = new byte[NativeKernels.LAYOUTS][0];
    /** Which layouts hold this operation's activations. */
    private final boolean[] ready = new boolean[NativeKernels.LAYOUTS];
    private float[] scale = new float[0];
    private float[] sums = new float[0];

    /** Takes {@code tokens} rows of {@code in} values of x, rounded into each layout of {@code layouts}. */
    void prepare(NativeKernels kernels, float[] x, int tokens, int in, boolean[] layouts) {
        if ((long) tokens * in > x.length) {
            throw new IllegalArgumentException("activations: " + tokens + " rows of " + in + " values exceed " + x.length);
        }
        this.x = x;
        this.tokens = tokens;
        this.in = in;
        int n = tokens * in;
        for (int layout = 0; layout < rounded.length; layout++) {
            ready[layout] = layouts[layout];
            if (!layouts[layout]) {
                continue;
            }
            if (rounded[layout].length < n) {
                rounded[layout] = new byte[n];
            }
            if (scale.length < n / 32) {
                scale = new float[n / 32];
                sums = new float[n / 32];
            }
            kernels.quantize(x, n, layout, rounded[layout], scale, sums);
        }
    }

    float[] x() {
        return x;
    }

    int tokens() {
        return tokens;
    }

    int in() {
        return in;
    }

    /** The rounded values in a layout; throws if this operation did not ask for it. */
    byte[] rounded(int layout) {
        if (!ready[layout]) {
            throw new IllegalStateException("activations were not rounded for layout " + layout);
        }
        return rounded[layout];
    }

    float[] scale() {
        return scale;
    }

    float[] sums() {
        return sums;
    }
}
