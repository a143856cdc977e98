package io.tessera.core.kernel;

import io.tessera.core.model.RopeStyle;

/**
 * Rotary position embedding. Pair i of a head (dimensions (2i, 2i+1) interleaved, or (i, i+d/2) in
 * the NeoX form) is rotated by the angle {@code position · theta^(-2i/d) / factor_i}, where the
 * factors (rope scaling: linear, Llama 3's, or a file's {@code rope_freqs}) are 1 when not given.
 */
public final class Rope {

    private final int headDim;
    private final RopeStyle style;
    private final float[] inverseFrequency;

    public Rope(int headDim, float theta, RopeStyle style) {
        this(headDim, theta, style, null);
    }

    /** @param frequencyFactors the divisor of each pair's frequency ({@code headDim / 2} of them), or null */
    public Rope(int headDim, float theta, RopeStyle style, float[] frequencyFactors) {
        if (frequencyFactors != null && frequencyFactors.length != headDim / 2) {
            throw new IllegalArgumentException("rope: " + frequencyFactors.length + " frequency factors for "
                    + headDim / 2 + " pairs");
        }
        this.headDim = headDim;
        this.style = style;
        this.inverseFrequency = new float[headDim / 2];
        for (int i = 0; i < headDim / 2; i++) {
            // Computed in float like the llama2.c reference, whose logits we match to 1e-4.
            inverseFrequency[i] = (float) (1.0 / Math.pow(theta, (2 * i) / (float) headDim));
            if (frequencyFactors != null) {
                inverseFrequency[i] /= frequencyFactors[i];
            }
        }
    }

    /** Rotates {@code heads} consecutive heads of x starting at offset, for one token at {@code position}. */
    public void apply(float[] x, int offset, int heads, int position) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            float angle = position * inverseFrequency[i];
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int base = offset + h * headDim;
                int a = style == RopeStyle.INTERLEAVED ? base + 2 * i : base + i;
                int b = style == RopeStyle.INTERLEAVED ? a + 1 : a + half;
                float x0 = x[a];
                float x1 = x[b];
                x[a] = x0 * cos - x1 * sin;
                x[b] = x0 * sin + x1 * cos;
            }
        }
    }
}
