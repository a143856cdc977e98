package io.tessera.benchmarks.engine;

import io.tessera.core.model.ModelConfig;

/**
 * The matrix-product work of a model's tokens: every token through each layer's projections
 * ({@code 2 × layerMatrixWeights}), and the output head ({@code 2 × vocab × dim}) once per row of
 * logits. Attention's score products are left out, as they are small at benchmark lengths.
 */
public record MatmulFlops(double perTokenLayers, double perLogitsRow) {

    public static MatmulFlops of(ModelConfig cfg) {
        return new MatmulFlops(2.0 * cfg.layerMatrixWeights(), 2.0 * cfg.vocabSize() * cfg.dim());
    }

    /** The work of a run that passed {@code tokens} tokens through the layers and computed {@code logitRows} rows. */
    public double of(long tokens, long logitRows) {
        return perTokenLayers * tokens + perLogitsRow * logitRows;
    }
}
