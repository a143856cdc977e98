package io.tessera.cli;

import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.hf.HfGgufConverter;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
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
                + "llama.cpp does. A progress line is printed to stderr every few seconds.")
final class ConvertCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--type", defaultValue = "F32", paramLabel = "TYPE",
            description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "FILE", description = "Output GGUF file.")
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
