package io.tessera.core.kernel;

import io.tessera.core.model.RopeStyle;

/**
 * Rotary position embedding. Pair i of the first {@code rotaryDim} dimensions of a head
 * (dimensions (2i, 2i+1) interleaved, or (i, i+rotaryDim/2) in the NeoX form) is rotated by the
 * angle {@code position · theta^(-2i/rotaryDim) / factor_i}, where the factors (rope scaling:
 * linear, Llama 3's, YaRN's, or a file's {@code rope_freqs} / longrope lists) are 1 when not
 * given; the dimensions past {@code rotaryDim} (partial rotary, Phi-4-mini) are left as they are.
 * With a magnitude other than 1 (YaRN, longrope) the rotated values are also multiplied by it,
 * as llama.cpp multiplies its cos/sin.
 */
public final class Rope {

    private final int headDim;
    private final int rotaryDim;
    private final RopeStyle style;
    private final float[] inverseFrequency;
    /** The factor of the rotated values; 1 leaves the rotation as it is (x · 1f is exact). */
    private final float magnitude;

    public Rope(int headDim, float theta, RopeStyle style) {
        this(headDim, theta, style, null);
    }

    /** @param frequencyFactors the divisor of each pair's frequency ({@code headDim / 2} of them), or null */
    public Rope(int headDim, float theta, RopeStyle style, float[] frequencyFactors) {
        this(headDim, headDim, theta, style, frequencyFactors, 1f);
    }

    /**
     * @param rotaryDim the rotated leading width of each head, even and at most {@code headDim}
     * @param frequencyFactors the divisor of each pair's frequency ({@code rotaryDim / 2} of them), or null
     * @param magnitude the factor of the rotated values (1 for a plain rotation)
     */
    public Rope(int headDim, int rotaryDim, float theta, RopeStyle style, float[] frequencyFactors, float magnitude) {
        if (rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim) {
            throw new IllegalArgumentException("rope: rotary width " + rotaryDim + " must be even, positive and at most "
                    + "the head dimension " + headDim);
        }
        if (frequencyFactors != null && frequencyFactors.length != rotaryDim / 2) {
            throw new IllegalArgumentException("rope: " + frequencyFactors.length + " frequency factors for "
                    + rotaryDim / 2 + " pairs");
        }
        this.headDim = headDim;
        this.rotaryDim = rotaryDim;
        this.style = style;
        this.magnitude = magnitude;
        this.inverseFrequency = new float[rotaryDim / 2];
        for (int i = 0; i < rotaryDim / 2; i++) {
            // Computed in float like the llama2.c reference, whose logits we match to 1e-4.
            inverseFrequency[i] = (float) (1.0 / Math.pow(theta, (2 * i) / (float) rotaryDim));
            if (frequencyFactors != null) {
                inverseFrequency[i] /= frequencyFactors[i];
            }
        }
    }

    /** Rotates {@code heads} consecutive heads of x starting at offset, for one token at {@code position}. */
    public void apply(float[] x, int offset, int heads, int position) {
        int half = rotaryDim / 2;
        for (int i = 0; i < half; i++) {
            float angle = position * inverseFrequency[i];
            float cos = (float) Math.cos(angle) * magnitude;
            float sin = (float) Math.sin(angle) * magnitude;
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
