package io.tessera.cli;

import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera convert}: a model (llama2.c or GGUF) to GGUF in another weight type. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a model (a llama2.c checkpoint with its tokenizer, or a GGUF file) to GGUF with the given "
                + "weight type. Matrices whose rows do not fill whole blocks stay in F16, as llama.cpp does.")
final class ConvertCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--type", defaultValue = "F32", paramLabel = "TYPE",
            description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = {"--out", "-o"}, required = true, paramLabel = "FILE", description = "Output GGUF file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        WeightTypes types = WeightTypes.parse(type);
        if (Files.exists(out) && Files.isSameFile(out, modelOptions.model())) {
            throw new IllegalArgumentException("the output file is the input file");
        }
        if (ModelLoader.detect(modelOptions.model()) == ModelLoader.Format.HUGGING_FACE) {
            // its tokenizer is a tokenizer.json, and llama's Q/K rows would need llama.cpp's permutation
            throw new IllegalArgumentException("converting a Hugging Face checkpoint directory to GGUF is not "
                    + "supported yet; run, serve or inspect the directory itself with --model DIR");
        }
        try (LoadedModel loaded = modelOptions.open()) {
            if (!(loaded.tokenizer() instanceof SentencePieceBpeTokenizer sentencePiece)) {
                throw new IllegalArgumentException("converting a model with a byte-level (gpt2) vocabulary is not "
                        + "supported yet; only SentencePiece vocabularies are written");
            }
            String name = modelOptions.model().getFileName().toString().replaceFirst("\\.[^.]*$", "");
            GgufModelWriter.write(out, name, loaded.model().config(), loaded.model().tiedOutput(),
                    sentencePiece.vocabulary(), types,
                    GgufModelWriter.of(loaded.model()));
        }
        System.err.printf("wrote %s (%s, %s)%n", out, types.name(), Units.bytes(Files.size(out)));
        return 0;
    }
}
