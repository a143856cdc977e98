package io.tessera.cli;

import io.tessera.core.model.LoadedModel;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The options every command that loads a model shares. The model is given as the first argument
 * ({@code tessera serve MODEL}) or with {@code -m}/{@code --model}; given both ways with different
 * values, the command refuses it in one line.
 */
final class ModelOptions {

    private static final String MODEL_HELP = "Model: a GGUF file, a Hugging Face checkpoint directory (config.json, "
            + "*.safetensors, tokenizer.json), or a llama2.c checkpoint (then --tokenizer is needed). Nothing is "
            + "downloaded.";

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = MODEL_HELP)
    Path model;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL", description = "The model, as -m/--model.")
    Path positionalModel;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Tokenizer file in llama2.c format (for llama2.c checkpoints; GGUF files carry their own), "
                    + "or for a checkpoint directory a tokenizer.json to use instead of its own.")
    Path tokenizer;

    @Option(names = "--threads", paramLabel = "N",
            description = "Compute threads (default: all cores).")
    Integer threads;

    @Mixin
    KernelOptions kernels;

    int threads() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }

    /**
     * The model path, from the first argument or {@code -m}/{@code --model}.
     *
     * @throws IllegalArgumentException when it is missing, or given twice with different values
     */
    Path model() {
        if (model != null && positionalModel != null && !model.equals(positionalModel)) {
            throw new IllegalArgumentException("the model is given twice with different values: MODEL '"
                    + positionalModel + "' and --model '" + model + "'; give one");
        }
        Path p = model != null ? model : positionalModel;
        if (p == null) {
            throw new IllegalArgumentException("a model is required: give it as the first argument (MODEL) or with "
                    + "-m/--model PATH");
        }
        return p;
    }

    /** Opens the model, after selecting the kernels that will run it. */
    LoadedModel open() throws IOException {
        kernels.apply();
        return LoadedModel.open(model(), tokenizer);
    }

    /** The model with its weights held as {@code quantize} says (quantized at load or as stored). */
    LoadedModel open(QuantizeOption quantize) throws IOException {
        kernels.apply();
        return LoadedModel.open(model(), tokenizer, quantize.loadOptions(model()));
    }
}
