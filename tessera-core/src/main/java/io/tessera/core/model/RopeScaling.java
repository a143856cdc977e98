package io.tessera.core.model;

/**
 * How a model stretches its rotary frequencies past the context it was trained on, as the
 * {@code rope_scaling} of a Hugging Face config or the {@code <arch>.rope.scaling.*} GGUF keys
 * describe it. The result is one factor per rotary pair that divides the pair's frequency
 * ({@link #frequencyFactors}) and, for YaRN and longrope, a magnitude every rotated value is
 * multiplied by ({@link #attentionFactor}; the attention scores then carry its square). A GGUF
 * file of Llama 3.1+ stores the factors directly as the {@code rope_freqs.weight} tensor, one of
 * Phi-3 longrope as {@code rope_factors_short/long.weight}.
 *
 * @param factor how many times longer the context is
 * @param originalContext the context length trained on (llama3, yarn, longrope)
 * @param lowFreqFactor llama3: wavelengths above {@code originalContext / lowFreqFactor} are scaled fully
 * @param highFreqFactor llama3: wavelengths below {@code originalContext / highFreqFactor} are kept
 * @param betaFast yarn: pairs turning more than this many times over the original context keep their frequency
 * @param betaSlow yarn: pairs turning fewer than this many times are interpolated fully
 * @param attentionFactor the magnitude of the rotated values (yarn's {@code 0.1·ln(factor) + 1},
 *     longrope's {@code √(1 + ln(factor)/ln(originalContext))}); 1 for the other types
 */
public record RopeScaling(Type type, float factor, int originalContext, float lowFreqFactor, float highFreqFactor,
        float betaFast, float betaSlow, float attentionFactor) {

    public enum Type {
        NONE, LINEAR, LLAMA3, YARN,
        /** Phi-3's: per-pair factors given as two lists, the long one for contexts past the original. */
        LONGROPE
    }

    /** YaRN's defaults (Hugging Face's and llama.cpp's). */
    public static final float YARN_BETA_FAST = 32f;
    public static final float YARN_BETA_SLOW = 1f;

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
        if ((type == Type.YARN || type == Type.LONGROPE) && originalContext <= 0) {
            throw new IllegalArgumentException(type.name().toLowerCase(java.util.Locale.ROOT)
                    + " rope scaling needs original_max_position_embeddings > 0, got " + originalContext);
        }
        if (type == Type.YARN && !(betaFast > betaSlow && betaSlow > 0 && Float.isFinite(betaFast))) {
            throw new IllegalArgumentException("yarn rope scaling needs beta_fast > beta_slow > 0, got " + betaFast
                    + ", " + betaSlow);
        }
        if (!(attentionFactor > 0) || !Float.isFinite(attentionFactor)) {
            throw new IllegalArgumentException("rope attention factor must be positive and finite, got "
                    + attentionFactor);
        }
    }

    /**
     * The types without an attention factor of their own; YaRN here takes its default beta values
     * and magnitude ({@link #yarnMagnitude}).
     */
    public RopeScaling(Type type, float factor, int originalContext, float lowFreqFactor, float highFreqFactor) {
        this(type, factor, originalContext, lowFreqFactor, highFreqFactor, YARN_BETA_FAST, YARN_BETA_SLOW,
                type == Type.YARN ? yarnMagnitude(factor, 0f, 0f) : 1f);
    }

    public static RopeScaling linear(float factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0f, 0f);
    }

    public static RopeScaling llama3(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
        return new RopeScaling(Type.LLAMA3, factor, originalContext, lowFreqFactor, highFreqFactor);
    }

    /** @param attentionFactor the magnitude of the rotated values, see {@link #yarnMagnitude} */
    public static RopeScaling yarn(float factor, int originalContext, float betaFast, float betaSlow,
            float attentionFactor) {
        return new RopeScaling(Type.YARN, factor, originalContext, 0f, 0f, betaFast, betaSlow, attentionFactor);
    }

    /**
     * @param factor the context's stretch (informational: the factors are the model's lists)
     * @param attentionFactor the magnitude of the rotated values, see {@link #longropeMagnitude}
     */
    public static RopeScaling longrope(float factor, int originalContext, float attentionFactor) {
        return new RopeScaling(Type.LONGROPE, factor, originalContext, 0f, 0f, YARN_BETA_FAST, YARN_BETA_SLOW,
                attentionFactor);
    }

    /**
     * YaRN's magnitude, as Hugging Face's {@code _compute_yarn_parameters} and llama.cpp's context
     * set-up compute it: {@code m(factor, mscale) / m(factor, mscaleAllDims)} with
     * {@code m(s, k) = 0.1·k·ln(s) + 1} when both are given (DeepSeek), else {@code m(factor, 1)}.
     *
     * @param mscale {@code mscale}, 0 when absent
     * @param mscaleAllDims {@code mscale_all_dim} (GGUF {@code rope.scaling.yarn_log_multiplier}), 0 when absent
     */
    public static float yarnMagnitude(float factor, float mscale, float mscaleAllDims) {
        if (mscale > 0 && mscaleAllDims > 0) {
            return (float) (mscale(factor, mscale) / mscale(factor, mscaleAllDims));
        }
        return (float) mscale(factor, 1);
    }

    private static double mscale(double scale, double k) {
        return scale <= 1 ? 1 : 0.1 * k * Math.log(scale) + 1;
    }

    /** Longrope's magnitude: {@code √(1 + ln(factor) / ln(originalContext))}, 1 without stretch. */
    public static float longropeMagnitude(float factor, int originalContext) {
        return factor <= 1 ? 1f : (float) Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
    }

    /**
     * The divisor of each rotary pair's frequency {@code theta^(-2i/rotaryDim)}, or null when the
     * frequencies stay as they are.
     *
     * @param rotaryDim the rotated width of a head (the head dimension, or less with partial rotary)
     * @throws UnsupportedOperationException for longrope, whose factors are the model's lists
     *     ({@link Model#rotaryFactors})
     */
    public float[] frequencyFactors(int rotaryDim, float theta) {
        return switch (type) {
            case NONE -> null;
            case LINEAR -> {
                float[] f = new float[rotaryDim / 2];
                java.util.Arrays.fill(f, factor);
                yield f;
            }
            case LLAMA3 -> llama3Factors(rotaryDim, theta);
            case YARN -> yarnFactors(rotaryDim, theta);
            case LONGROPE -> throw new UnsupportedOperationException(
                    "longrope's frequency factors are the model's short/long lists, not derived from the config");
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

    /**
     * YaRN's "NTK-by-parts" frequencies as divisors, as llama.cpp's {@code ggml_rope_yarn_corr_dims}
     * and {@code rope_yarn} compute them: pairs below the correction dimension of {@code betaFast}
     * keep their frequency (extrapolation), pairs past that of {@code betaSlow} are divided by the
     * factor (interpolation), and in between a linear ramp over the pair index mixes the two. The
     * correction dimension of {@code r} rotations is the pair index whose wavelength fits {@code r}
     * times into the original context.
     */
    private float[] yarnFactors(int rotaryDim, float theta) {
        double low = Math.max(0, Math.floor(correctionDim(rotaryDim, betaFast, theta)));
        double high = Math.min(rotaryDim - 1, Math.ceil(correctionDim(rotaryDim, betaSlow, theta)));
        float[] f = new float[rotaryDim / 2];
        for (int i = 0; i < f.length; i++) {
            double ramp = 1 - Math.min(1, Math.max(0, (i - low) / Math.max(0.001, high - low)));
            // ramp 1: the pair's own frequency; ramp 0: the frequency divided by the factor
            f[i] = (float) (1.0 / ((1 - ramp) / factor + ramp));
        }
        return f;
    }

    private double correctionDim(int rotaryDim, double rotations, double theta) {
        return rotaryDim * Math.log(originalContext / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }
}
