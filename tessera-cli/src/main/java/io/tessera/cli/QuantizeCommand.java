package io.tessera.cli;

import io.tessera.core.format.Units;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.smoothquant.W8A8Quantizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera quantize}: W8A8 (int8 weights and activations), with or without SmoothQuant. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Quantize a model to W8A8: int8 weights with one scale per output channel, activations rounded "
                + "to int8 per token at run time, int32 accumulation. --method smoothquant first runs the model on "
                + "--calibration, takes each linear layer's per-channel input maxima and migrates the activations' "
                + "outliers into the weights (s = max|X|^alpha / max|W|^(1-alpha), folded into the RMSNorm before "
                + "q/k/v and gate/up, and into up's rows for down; the attention output projection stays "
                + "unsmoothed); --method rtn rounds the weights as they are. The output is a Hugging Face checkpoint "
                + "directory in compressed-tensors' int8 W8A8 layout (weight I8 + weight_scale, quantization_config), "
                + "which vLLM serves too; GGUF has no such type. Input: F32/F16/BF16 weights (checkpoint directory, "
                + "GGUF or llama2.c with --tokenizer); a directory's tokenizer files are copied, otherwise load the "
                + "output with --tokenizer pointing at the input.")
final class QuantizeCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--method", defaultValue = "smoothquant", paramLabel = "METHOD",
            description = "smoothquant or rtn (round to nearest, no smoothing) (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--alpha", defaultValue = "0.5", paramLabel = "A",
            description = "SmoothQuant's migration strength in [0, 1]: 0 leaves the activations as they are, 1 moves "
                    + "all of their range into the weights (default: ${DEFAULT-VALUE}).")
    float alpha;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Calibration text (UTF-8) for --method smoothquant: a few hundred tokens of text like the "
                    + "model's use.")
    Path calibration;

    @Option(names = "--calibration-ctx", defaultValue = "512", paramLabel = "N",
            description = "Tokens per calibration window, at most the model's context (default: ${DEFAULT-VALUE}).")
    int calibrationCtx;

    @Option(names = "--outlier-threshold", defaultValue = "0", paramLabel = "T",
            description = "LLM.int8()'s mixed decomposition: per token, activation columns of magnitude over T are "
                    + "multiplied in float (with the int8 weights rebuilt), the rest in int8; written into the "
                    + "directory's quantization_config as tessera_outlier_threshold (other loaders run plain W8A8). "
                    + "0: none; LLM.int8() uses 6 (default: ${DEFAULT-VALUE}).")
    float outlierThreshold;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "DIR", description = "Output checkpoint directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        W8A8Quantizer.Method m = W8A8Quantizer.Method.parse(method);
        if (m == W8A8Quantizer.Method.RTN && calibration != null) {
            throw new IllegalArgumentException("--calibration is used by --method smoothquant only");
        }
        long start = System.nanoTime();
        try (LoadedModel loaded = modelOptions.open();
                Parallel parallel = new Parallel(modelOptions.threads())) {
            int[] tokens = null;
            if (calibration != null) {
                tokens = loaded.tokenizer().encode(read(calibration), true);
            }
            W8A8Quantizer.Result r = W8A8Quantizer.quantize(loaded, modelOptions.model(), out, m, alpha, tokens,
                    calibrationCtx, outlierThreshold, parallel);
            System.err.printf("wrote %s (W8A8, %s%s%s, %s) in %.1f s%n", out,
                    m == W8A8Quantizer.Method.SMOOTHQUANT ? "SmoothQuant alpha " + alpha : "no smoothing",
                    r.calibrationTokens() > 0 ? ", " + r.calibrationTokens() + " calibration tokens" : "",
                    outlierThreshold > 0 ? ", outliers over " + outlierThreshold : "", Units.bytes(r.bytes()),
                    (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }

    private static String read(Path text) {
        try {
            return Files.readString(text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --calibration " + text + ": "
                    + (e instanceof NoSuchFileException ? "no such file" : e.toString()));
        }
    }
}
