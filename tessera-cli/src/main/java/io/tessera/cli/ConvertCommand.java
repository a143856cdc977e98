package io.tessera.cli;

import io.tessera.core.format.Units;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.hf.Fp8Scales;
import io.tessera.core.hf.HfFp8Converter;
import io.tessera.core.hf.HfGgufConverter;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tokenizer.GgufTokenizerMetadata;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera convert}: a model (Hugging Face checkpoint, GGUF or llama2.c) to GGUF in another weight type. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a model to GGUF with the given weight type: a Hugging Face checkpoint directory (written "
                + "as llama.cpp's convert_hf_to_gguf.py writes it: tensor names, keys, Llama's Q/K permutation, "
                + "tokenizer), a GGUF file (re-quantized; its tokenizer metadata is copied as it is), or a llama2.c "
                + "checkpoint with its tokenizer. Matrices whose rows do not fill whole blocks stay in F16, as "
                + "llama.cpp does. A progress line is printed to stderr every few seconds. GGUF has no FP8 type: "
                + "--type FP8 writes a Hugging Face checkpoint directory instead (from a checkpoint directory, whose "
                + "tokenizer files are copied): the linear layers in E4M3 with the scales of --fp8-scales, the "
                + "embedding and output head in BF16.")
final class ConvertCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--type", defaultValue = "F32", paramLabel = "TYPE",
            description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, or FP8 (a checkpoint "
                    + "directory, not GGUF) (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--fp8-scales", defaultValue = "channel", paramLabel = "LAYOUT",
            description = "With --type FP8: channel (one scale per output channel, weight_scale, compressed-tensors "
                    + "as llm-compressor writes it) or block (one per 128 x 128 block, weight_scale_inv, "
                    + "quant_method fp8 as DeepSeek-V3 and Qwen 3 FP8) (default: ${DEFAULT-VALUE}).")
    String fp8Scales;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "PATH",
            description = "Output GGUF file (--type FP8: output checkpoint directory).")
    Path out;

    @Option(names = "--name", paramLabel = "NAME",
            description = "general.name of the output (default: the input's file or directory name).")
    String name;

    @Override
    public Integer call() throws Exception {
        WeightTypes types = WeightTypes.parse(type);
        if (Files.exists(out) && Files.isSameFile(out, modelOptions.model())) {
            throw new IllegalArgumentException("the output file is the input file");
        }
        Path in = modelOptions.model();
        String modelName = name != null ? name : in.toAbsolutePath().normalize().getFileName().toString()
                .replaceFirst("\\.(gguf|bin)$", "");
        long start = System.nanoTime();
        GgufWriter.Progress progress = new ProgressLine("convert", start);
        ModelLoader.Format format = ModelLoader.detect(in);
        if (types.matrices() == GgmlType.FP8) {
            Fp8Scales scales = Fp8Scales.parse(fp8Scales);
            if (format != ModelLoader.Format.HUGGING_FACE) {
                throw new IllegalArgumentException("--type FP8 writes a Hugging Face checkpoint directory (GGUF has no "
                        + "FP8 type) and takes one as input, whose tokenizer files it copies; to run a GGUF file in "
                        + "FP8, quantize it at load: --quantize FP8");
            }
            HfFp8Converter.convert(in, out, scales);
            System.err.printf("wrote %s (FP8, %s scales, %s) in %.1f s%n", out, fp8Scales,
                    Units.bytes(Files.size(out.resolve("model.safetensors"))), (System.nanoTime() - start) / 1e9);
            return 0;
        }
        if (format == ModelLoader.Format.HUGGING_FACE) {
            if (modelOptions.tokenizer != null) {
                throw new IllegalArgumentException("--tokenizer is not used when converting a checkpoint directory: "
                        + "its own tokenizer.json is written");
            }
            HfGgufConverter.convert(in, out, modelName, types, progress);
        } else {
            try (LoadedModel loaded = modelOptions.open()) {
                GgufTokenizerMetadata tokenizer;
                if (format == ModelLoader.Format.GGUF && modelOptions.tokenizer == null) {
                    try (GgufFile source = GgufFile.open(in)) {
                        tokenizer = GgufTokenizerMetadata.copiedFrom(source.metadata());
                        write(loaded, modelName, tokenizer, types, progress);
                    }
                } else if (loaded.tokenizer() instanceof SentencePieceBpeTokenizer sentencePiece) {
                    write(loaded, modelName, GgufTokenizerMetadata.of(sentencePiece.vocabulary()), types, progress);
                } else {
                    throw new IllegalArgumentException("--tokenizer must be a SentencePiece (llama2.c) tokenizer file "
                            + "to be written into the GGUF file");
                }
            }
        }
        System.err.printf("wrote %s (%s, %s) in %.1f s%n", out, types.name(), Units.bytes(Files.size(out)),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private void write(LoadedModel loaded, String modelName, GgufTokenizerMetadata tokenizer, WeightTypes types,
            GgufWriter.Progress progress) throws java.io.IOException {
        GgufModelWriter.write(out, modelName, loaded.model().config(), loaded.model().tiedOutput(),
                loaded.model().ropeFrequencyFactors(), tokenizer, types, GgufModelWriter.of(loaded.model()),
                progress);
    }
}
