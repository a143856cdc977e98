package io.tessera.core.model;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import io.tessera.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/** A model with its tokenizer: what every command that generates text needs. */
public record LoadedModel(LlamaModel model, Tokenizer tokenizer, long loadNanos) implements AutoCloseable {

    /**
     * Opens a model file of any supported format. The tokenizer comes from {@code tokenizerFile}
     * (a llama2.c tokenizer) when given, else from the model file's own metadata.
     */
    public static LoadedModel open(Path modelFile, Path tokenizerFile) throws IOException {
        long start = System.nanoTime();
        ModelLoader.Format format = ModelLoader.detect(modelFile);
        LlamaModel model = ModelLoader.load(modelFile);
        try {
            Tokenizer tokenizer;
            if (tokenizerFile != null) {
                tokenizer = new SentencePieceBpeTokenizer(
                        Llama2cTokenizerReader.read(tokenizerFile, model.config().vocabSize()));
            } else if (format == ModelLoader.Format.LLAMA2C) {
                throw new ModelFormatException(modelFile, "tokenizer",
                        "a llama2.c checkpoint carries no tokenizer; pass its tokenizer file (e.g. --tokenizer tok512.bin)");
            } else {
                throw new ModelFormatException(modelFile, "tokenizer", "reading the tokenizer from GGUF is not wired yet");
            }
            if (tokenizer.vocabSize() != model.config().vocabSize()) {
                throw new ModelFormatException(modelFile, "tokenizer", "the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's vocabulary has " + model.config().vocabSize());
            }
            return new LoadedModel(model, tokenizer, System.nanoTime() - start);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
