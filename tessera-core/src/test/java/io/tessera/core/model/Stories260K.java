package io.tessera.core.model;

import io.tessera.core.TestModels;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import java.io.IOException;
import java.nio.file.Path;

/** Conversions of the stories260K test model, as {@code tessera convert} makes them. */
public final class Stories260K {

    private Stories260K() {
    }

    /** Converts stories260K (with tok512) to a GGUF file of the given weight type in {@code dir}. */
    public static Path convert(Path dir, String type) throws IOException {
        Path out = dir.resolve("stories260K-" + type + ".gguf");
        try (Model model = Llama2cLoader.load(TestModels.stories260K())) {
            GgufModelWriter.write(out, "stories260K", model.config(), model.tiedOutput(),
                    Llama2cTokenizerReader.read(TestModels.tok512(), model.config().vocabSize()),
                    WeightTypes.parse(type), GgufModelWriter.of(model));
        }
        return out;
    }
}
