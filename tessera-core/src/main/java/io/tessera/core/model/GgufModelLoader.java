package io.tessera.core.model;

import io.tessera.core.arch.Architecture;
import io.tessera.core.arch.GgufHyperparameters;
import io.tessera.core.arch.GgufTensors;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Builds a {@link Model} from a GGUF file: the family named by {@code general.architecture} (see
 * {@link io.tessera.core.arch.Architectures}) reads the {@code <arch>.*} metadata and binds the
 * tensors by name, checking every shape ({@link ModelValidation} checks the keys' ranges first).
 * Weights stay in the file's memory mapping, in whatever type they were stored.
 */
public final class GgufModelLoader {

    private GgufModelLoader() {
    }

    public static Model load(Path file) throws IOException {
        return load(file, LoadOptions.AS_STORED);
    }

    /** As {@link #load(Path)}, the weights held as {@code options} say (e.g. quantized at load). */
    public static Model load(Path file, LoadOptions options) throws IOException {
        GgufFile gguf = GgufFile.open(file);
        try {
            return load(gguf, options);
        } catch (IOException | RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /** Reads the configuration only: no tensor data is touched. */
    public static ModelConfig config(GgufFile gguf) throws ModelFormatException {
        return GgufHyperparameters.read(gguf);
    }

    /**
     * Builds the model over an open file; the model then owns the file and closes it. A tensor of a
     * block the family did not bind is refused ({@link ModelValidation#checkTensorSet}).
     */
    public static Model load(GgufFile gguf) throws ModelFormatException {
        return load(gguf, LoadOptions.AS_STORED);
    }

    /** As {@link #load(GgufFile)}, the weights held as {@code options} say. */
    public static Model load(GgufFile gguf, LoadOptions options) throws ModelFormatException {
        Architecture family = GgufHyperparameters.architecture(gguf);
        ModelConfig cfg = config(gguf);
        GgufTensors tensors = new GgufTensors(gguf);
        Model model = family.bind(cfg, options.view(tensors, cfg));
        ModelValidation.checkTensorSet(gguf, cfg.architecture(), cfg.layers(), tensors.used());
        return model;
    }
}
