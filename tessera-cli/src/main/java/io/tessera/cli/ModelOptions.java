package io.tessera.cli;

import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.WeightTypes;
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

    @Option(names = "--quantize", paramLabel = "TYPE",
            description = "Quantize the weights once while loading (a checkpoint directory, or a GGUF file in F32, F16 "
                    + "or BF16): Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, F16, BF16 or F32. Only the quantized copy is "
                    + "kept in memory; the result is the same as running a GGUF file converted to that type.")
    String quantize;

    int threads() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }

    LoadedModel open() throws IOException {
        return LoadedModel.open(model, tokenizer, loadOptions());
    }

    /** The weights as stored, or quantized at load with a progress line on stderr. */
    LoadOptions loadOptions() {
        if (quantize == null) {
            return LoadOptions.AS_STORED;
        }
        WeightTypes types;
        try {
            types = WeightTypes.parse(quantize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--quantize '" + quantize + "' is not a weight type (supported: "
                    + WeightTypes.NAMES + ")");
        }
        System.err.println("quantizing the weights to " + types.name() + " while loading " + model);
        return LoadOptions.quantized(types, new ProgressLine("quantize " + types.name(), System.nanoTime()));
    }
}
