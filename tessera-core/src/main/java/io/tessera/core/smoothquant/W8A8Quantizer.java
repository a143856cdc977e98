package io.tessera.core.smoothquant;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.arch.Architectures;
import io.tessera.core.hf.HfCheckpoint;
import io.tessera.core.hf.HfCheckpointWriter;
import io.tessera.core.hf.HfFp8Converter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.GgufModelWriter.WeightSource;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code tessera quantize}: a model written as a compressed-tensors int8 W8A8 checkpoint directory
 * (int8 weights per output channel, activations int8 per token at run time; see
 * {@code HfCheckpointWriter.writeW8A8}), either rounded as it is ({@link Method#RTN}) or smoothed
 * first ({@link Method#SMOOTHQUANT}: calibration on a text, factors folded into the norms and up
 * projections, {@link SmoothQuant}). GGUF has no such type (its Q8_0 rounds weights per 32 values
 * and has no per-token activation scheme), so the output is always a directory; a directory
 * input's tokenizer and generation files are copied.
 */
public final class W8A8Quantizer {

    /** How the weights are prepared before rounding. */
    public enum Method {
        /** Round to nearest, no smoothing: plain W8A8. */
        RTN,
        /** SmoothQuant: per-channel factors from calibration maxima, then round. */
        SMOOTHQUANT;

        public static Method parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "rtn" -> RTN;
                case "smoothquant" -> SMOOTHQUANT;
                default -> throw new IllegalArgumentException("--method '" + s + "' is not supported (supported: "
                        + "smoothquant, rtn)");
            };
        }
    }

    /** What was written. */
    public record Result(long calibrationTokens, long bytes) {
    }

    private W8A8Quantizer() {
    }

    /**
     * @param input the model's path (a directory's tokenizer files are copied)
     * @param calibration the calibration text's tokens (BOS first), or null for {@link Method#RTN}
     * @param ctx calibration window in tokens
     * @param outlierThreshold the LLM.int8() threshold written with the weights, 0 for none
     */
    public static Result quantize(LoadedModel loaded, Path input, Path out, Method method, float alpha,
            int[] calibration, int ctx, float outlierThreshold, Parallel parallel) throws Exception {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("the output " + out + " is a file; quantize writes a checkpoint directory");
        }
        if (Files.exists(out) && Files.exists(input) && Files.isSameFile(input, out)) {
            throw new IllegalArgumentException("the output directory is the input");
        }
        if (!(outlierThreshold >= 0) || Float.isInfinite(outlierThreshold)) {
            throw new IllegalArgumentException("--outlier-threshold must be finite and >= 0, got " + outlierThreshold);
        }
        if (method == Method.SMOOTHQUANT && !(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("--alpha must lie in [0, 1], got " + alpha);
        }
        Model model = loaded.model();
        for (var layer : model.layers()) {
            GgmlType t = layer.attention().wq().type();
            if (t != GgmlType.F32 && t != GgmlType.F16 && t != GgmlType.BF16) {
                throw new IllegalArgumentException("the model's weights are " + t + "; quantize takes F32, F16 or BF16 "
                        + "weights (rounding twice loses precision twice: start from the original)");
            }
        }
        WeightSource source = GgufModelWriter.of(model);
        long calibrated = 0;
        if (method == Method.SMOOTHQUANT) {
            if (calibration == null) {
                throw new IllegalArgumentException("--method smoothquant needs --calibration TEXT");
            }
            ActivationMaxima maxima = ActivationMaxima.collect(model, calibration, loaded.tokenizer().bos(), ctx,
                    parallel);
            calibrated = maxima.tokens();
            source = SmoothQuant.plan(model, maxima, alpha).apply(source);
        }
        String architecture = architecture(input, model);
        HfCheckpointWriter.writeW8A8(out, model.config(), model.tiedOutput(), dtypeOf(model.tokenEmbedding().type()),
                outlierThreshold, source, architecture);
        if (Files.isDirectory(input)) {
            HfFp8Converter.copyCompanionFiles(input, out);
        } else {
            // a GGUF or llama2.c input: the tokenizer stays in that file (load the directory with --tokenizer FILE)
            HfCheckpointWriter.writeGenerationConfig(out, loaded.tokenizer().bos(), java.util.List.of(loaded.tokenizer().eos()));
        }
        return new Result(calibrated, Files.size(out.resolve(HfCheckpoint.SINGLE_FILE)));
    }

    /** The embedding and head keep their precision (F16, BF16 or F32); anything else is written as BF16. */
    private static SafetensorsDtype dtypeOf(GgmlType t) {
        return switch (t) {
            case F32 -> SafetensorsDtype.F32;
            case F16 -> SafetensorsDtype.F16;
            default -> SafetensorsDtype.BF16;
        };
    }

    /** A directory's own {@code architectures} entry (a Mistral stays Mistral), else the family's first name. */
    private static String architecture(Path input, Model model) throws IOException {
        String family = Architectures.named(model.config().architecture()).huggingFaceNames().get(0);
        if (!Files.isDirectory(input)) {
            return family;
        }
        String a = new ObjectMapper().readTree(input.resolve(HfCheckpoint.CONFIG).toFile()).path("architectures")
                .path(0).asText();
        return a.isEmpty() || a.endsWith("ForConditionalGeneration") ? family : a;
    }
}
