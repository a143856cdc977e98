package io.tessera.core.model;

import io.tessera.core.arch.TensorSource;

/**
 * How a model's weights are held once loaded: as the file stores them (the default: views of its
 * memory mapping), or quantized at load ({@link QuantizingTensorSource}).
 *
 * @param quantize the weight types to quantize the matrices to, or null to keep the file's
 * @param progress told of each matrix quantized
 */
public record LoadOptions(WeightTypes quantize, QuantizingTensorSource.Progress progress) {

    /** The weights as the file stores them. */
    public static final LoadOptions AS_STORED = new LoadOptions(null, QuantizingTensorSource.Progress.NONE);

    public LoadOptions {
        if (progress == null) {
            progress = QuantizingTensorSource.Progress.NONE;
        }
    }

    /** Matrices quantized to {@code types} at load. */
    public static LoadOptions quantized(WeightTypes types, QuantizingTensorSource.Progress progress) {
        return new LoadOptions(types, progress);
    }

    /** The tensors a family binds: the file's own, or quantized as they are bound. */
    public TensorSource view(TensorSource file, ModelConfig config) {
        return quantize == null ? file : new QuantizingTensorSource(file, quantize, config.layers(), progress);
    }
}
