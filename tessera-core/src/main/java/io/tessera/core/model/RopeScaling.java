package io.tessera.core.model;

/**
 * How a model stretches its rotary frequencies past the context it was trained on, as the
 * {@code rope_scaling} of a Hugging Face config or the {@code <arch>.rope.scaling.*} GGUF keys
 * describe it. The result is one factor per rotary pair that divides the pair's frequency
 * ({@link #frequencyFactors}); a GGUF file of Llama 3.1+ stores those factors directly as the
 * {@code rope_freqs.weight} tensor.
 *
 * @param factor how many times longer the context is
 * @param originalContext the context length trained on (llama3, yarn)
 * @param lowFreqFactor llama3: wavelengths above {@code originalContext / lowFreqFactor} are scaled fully
 * @param highFreqFactor llama3: wavelengths below {@code originalContext / highFreqFactor} are kept
 */
public record RopeScaling(Type type, float factor, int originalContext, float lowFreqFactor, float highFreqFactor) {

    public enum Type {
        NONE, LINEAR, LLAMA3, YARN
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1f, 0, 0f, 0f);

    public RopeScaling {
        if (type == null) {
            throw new IllegalArgumentException("rope scaling type must be given");
        }
        if (type != Type.NONE && !(factor >= 1f && Float.isFinite(factor))) {
            throw new IllegalArgumentException("rope scaling factor must be at least 1, got " + factor);
        }
        if (type == Type.LLAMA3 && !(originalContext > 0 && highFreqFactor > lowFreqFactor && lowFreqFactor > 0)) {
            throw new IllegalArgumentException("llama3 rope scaling needs original_max_position_embeddings > 0 and "
                    + "high_freq_factor > low_freq_factor > 0, got " + originalContext + ", " + highFreqFactor + ", "
                    + lowFreqFactor);
        }
    }

    public static RopeScaling linear(float factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0f, 0f);
    }

    public static RopeScaling llama3(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
        return new RopeScaling(Type.LLAMA3, factor, originalContext, lowFreqFactor, highFreqFactor);
    }

    /**
     * The divisor of each rotary pair's frequency {@code theta^(-2i/headDim)}, or null when the
     * frequencies stay as they are.
     *
     * @throws UnsupportedOperationException for YaRN, whose attention-magnitude correction the
     *     forward pass does not implement yet
     */
    public float[] frequencyFactors(int headDim, float theta) {
        return switch (type) {
            case NONE -> null;
            case LINEAR -> {
                float[] f = new float[headDim / 2];
                java.util.Arrays.fill(f, factor);
                yield f;
            }
            case LLAMA3 -> llama3Factors(headDim, theta);
            case YARN -> throw new UnsupportedOperationException("rope scaling 'yarn' is not implemented yet");
        };
    }

    /** Llama 3.1's frequency-dependent scaling, as its reference code and llama.cpp's converter compute it. */
    private float[] llama3Factors(int headDim, float theta) {
        double lowWavelength = originalContext / lowFreqFactor;
        double highWavelength = originalContext / highFreqFactor;
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            double freq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
            double wavelength = 2 * Math.PI / freq;
            if (wavelength < highWavelength) {
                f[i] = 1f;
            } else if (wavelength > lowWavelength) {
                f[i] = factor;
            } else {
                double smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                f[i] = (float) (1.0 / ((1 - smooth) / factor + smooth));
            }
        }
        return f;
    }
}
