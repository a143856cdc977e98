package io.tessera.cli;

import io.tessera.core.model.LoadedModel;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelOptions {

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model: a GGUF file, a Hugging Face checkpoint directory (config.json, *.safetensors, "
                    + "tokenizer.json), or a llama2.c checkpoint (then --tokenizer is needed). Nothing is downloaded.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Tokenizer file in llama2.c format (for llama2.c checkpoints; GGUF files carry their own), "
                    + "or for a checkpoint directory a tokenizer.json to use instead of its own.")
    Path tokenizer;

    @Option(names = "--threads", paramLabel = "N",
            description = "Compute threads (default: all cores).")
    Integer threads;

    int threads() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }

    LoadedModel open() throws IOException {
        return LoadedModel.open(model, tokenizer);
    }

    /** The model with its weights held as {@code quantize} says (quantized at load or as stored). */
    LoadedModel open(QuantizeOption quantize) throws IOException {
        return LoadedModel.open(model, tokenizer, quantize.loadOptions(model));
    }
}
