package io.tessera.core.model;

import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded decoder-only model of any family: its configuration and weights, bound by the family
 * ({@code io.tessera.core.arch}). The weights are views of a memory mapping owned by this object;
 * {@link #close()} releases it.
 *
 * @param tokenEmbedding [vocab, dim]
 * @param output the output head [vocab, dim]; the same tensor as the embedding when tied
 * @param ropeFrequencyFactors the divisor of each rotary pair's frequency stored in the file
 *     (GGUF {@code rope_freqs.weight}, Llama 3.1+), or null to derive them from the configuration's
 *     {@link RopeScaling}; with longrope, the short list ({@code rope_factors_short})
 * @param longContextRopeFactors longrope's long list ({@code rope_factors_long}), which replaces the
 *     short one when the configured context is longer than the original one; null otherwise
 */
public record Model(
        Path source,
        ModelConfig config,
        Tensor tokenEmbedding,
        List<DecoderLayer> layers,
        float[] finalNorm,
        Tensor output,
        float[] ropeFrequencyFactors,
        float[] longContextRopeFactors,
        AutoCloseable resources) implements AutoCloseable {

    public Model {
        layers = List.copyOf(layers);
        if (config.ropeScaling().type() == RopeScaling.Type.LONGROPE
                && (ropeFrequencyFactors == null || longContextRopeFactors == null)) {
            throw new IllegalArgumentException("longrope rotary scaling needs both the short and the long factors");
        }
    }

    /** A model without longrope's long-context factors. */
    public Model(Path source, ModelConfig config, Tensor tokenEmbedding, List<DecoderLayer> layers, float[] finalNorm,
            Tensor output, float[] ropeFrequencyFactors, AutoCloseable resources) {
        this(source, config, tokenEmbedding, layers, finalNorm, output, ropeFrequencyFactors, null, resources);
    }

    /** A model whose rotary frequencies follow its configuration alone. */
    public Model(Path source, ModelConfig config, Tensor tokenEmbedding, List<DecoderLayer> layers, float[] finalNorm,
            Tensor output, AutoCloseable resources) {
        this(source, config, tokenEmbedding, layers, finalNorm, output, null, null, resources);
    }

    public boolean tiedOutput() {
        return output == tokenEmbedding;
    }

    /**
     * The divisor of each rotary pair's frequency, or null when the frequencies are not scaled. With
     * longrope the list is chosen once by the context the model is configured for, as llama.cpp
     * chooses by its context size: the long one past the original context, else the short one
     * (Hugging Face switches per sequence length instead, which would change a sequence's earlier
     * keys as it grows).
     */
    public float[] rotaryFactors() {
        if (longContextRopeFactors != null && config.contextLength() > config.ropeScaling().originalContext()) {
            return longContextRopeFactors;
        }
        return ropeFrequencyFactors != null ? ropeFrequencyFactors
                : config.ropeScaling().frequencyFactors(config.attention().rotaryDim(config.headDim()),
                        config.ropeTheta());
    }

    /** The same weights with another configuration (e.g. a shorter context), closing nothing. */
    public Model withConfig(ModelConfig other) {
        return new Model(source, other, tokenEmbedding, layers, finalNorm, output, ropeFrequencyFactors,
                longContextRopeFactors, () -> { });
    }

    /** The first {@code n} layers as a model of their own over the same weights (closing it closes nothing). */
    public Model firstLayers(int n) {
        return new Model(source, config.withLayers(n), tokenEmbedding, layers.subList(0, n), finalNorm, output,
                ropeFrequencyFactors, longContextRopeFactors, () -> { });
    }

    /** Every weight matrix, for reports such as the types in use and the bytes read per token. */
    public List<Tensor> matrices() {
        List<Tensor> all = new ArrayList<>();
        all.add(tokenEmbedding);
        for (DecoderLayer l : layers) {
            all.addAll(l.matrices());
        }
        if (!tiedOutput()) {
            all.add(output);
        }
        return all;
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + source + ": " + e.getMessage(), e);
        }
    }
}
