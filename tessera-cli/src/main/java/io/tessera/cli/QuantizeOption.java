package io.tessera.cli;

import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.WeightTypes;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --quantize}: the weights quantized once while the model is loaded (run, serve). */
final class QuantizeOption {

    @Option(names = "--quantize", paramLabel = "TYPE",
            description = "Quantize the weights once while loading (a checkpoint directory, or a GGUF file in F32, F16 "
                    + "or BF16): Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, FP8, W8A8, F16, BF16 or F32. Only the quantized copy is "
                    + "kept in memory; the model is the same as the GGUF file convert writes in that type (FP8: "
                    + "E4M3 with one scale per output channel, the bytes of the checkpoint directory convert --type "
                    + "FP8 writes; W8A8: int8 rows with a scale each and int8 activations per token, the bytes quantize --method "
                    + "rtn writes).")
    String type;

    /** The weights as stored, or quantized at load with a progress line on stderr. */
    LoadOptions loadOptions(Path model) {
        if (type == null) {
            return LoadOptions.AS_STORED;
        }
        WeightTypes types = parse(type);
        System.err.println("quantizing the weights to " + types.name() + " while loading " + model);
        return LoadOptions.quantized(types, new ProgressLine("quantize " + types.name(), System.nanoTime()));
    }

    /** A weight type name, or an error naming the option and listing the types. */
    static WeightTypes parse(String name) {
        try {
            return WeightTypes.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--quantize '" + name + "' is not a weight type (supported: "
                    + WeightTypes.NAMES + ")");
        }
    }
}
