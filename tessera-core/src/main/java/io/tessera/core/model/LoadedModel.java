package io.tessera.core.model;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.hf.HfCheckpoint;
import io.tessera.core.tokenizer.GgufTokenizers;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.TokenizerJson;
import io.tessera.core.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A model with its tokenizer: what every command that generates text needs.
 *
 * @param chatTemplate the Jinja chat template of the model's metadata ({@code tokenizer.chat_template}),
 *     or null when it has none (llama2.c checkpoints never do)
 * @param eosTokenIds the tokens that end generation: the tokenizer's EOS and those the model names
 *     besides (GGUF's end-of-turn and end-of-message tokens, generation_config.json's
 *     {@code eos_token_id} list), each once
 */
public record LoadedModel(Model model, Tokenizer tokenizer, long loadNanos, String chatTemplate, int[] eosTokenIds)
        implements AutoCloseable {

    public LoadedModel {
        eosTokenIds = eosTokenIds.clone();
    }

    public LoadedModel(Model model, Tokenizer tokenizer, long loadNanos, String chatTemplate) {
        this(model, tokenizer, loadNanos, chatTemplate, endOfGeneration(tokenizer, List.of()));
    }

    public LoadedModel(Model model, Tokenizer tokenizer, long loadNanos) {
        this(model, tokenizer, loadNanos, null);
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** The tokenizer's EOS (if it has one) and {@code others}, each once, in that order. */
    static int[] endOfGeneration(Tokenizer tokenizer, List<Integer> others) {
        Set<Integer> ids = new LinkedHashSet<>();
        if (tokenizer.eos() >= 0) {
            ids.add(tokenizer.eos());
        }
        ids.addAll(others);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Opens a model file of any supported format. The tokenizer comes from {@code tokenizerFile}
     * (a llama2.c tokenizer) when given, else from the model file's own metadata.
     */
    public static LoadedModel open(Path modelFile, Path tokenizerFile) throws IOException {
        return open(modelFile, tokenizerFile, LoadOptions.AS_STORED);
    }

    /** As {@link #open(Path, Path)}, the weights held as {@code options} say (e.g. quantized at load). */
    public static LoadedModel open(Path modelFile, Path tokenizerFile, LoadOptions options) throws IOException {
        long start = System.nanoTime();
        Model model;
        Tokenizer tokenizer = null;
        String chatTemplate = null;
        List<Integer> endTokens = new ArrayList<>();
        ModelLoader.Format format = ModelLoader.detect(modelFile);
        if (format == ModelLoader.Format.HUGGING_FACE) {
            return openCheckpoint(modelFile, tokenizerFile, start, options);
        }
        if (format == ModelLoader.Format.GGUF) {
            GgufFile gguf = GgufFile.open(modelFile);
            try {
                if (tokenizerFile == null) {
                    tokenizer = GgufTokenizers.read(gguf.metadata());
                }
                chatTemplate = gguf.metadata().findString("tokenizer.chat_template").orElse(null);
                for (String key : List.of("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")) {
                    gguf.metadata().findInt(key).ifPresent(endTokens::add);
                }
                model = GgufModelLoader.load(gguf, options);
            } catch (IOException | RuntimeException e) {
                gguf.close();
                throw e;
            }
        } else {
            model = ModelLoader.load(modelFile, options);
            if (tokenizerFile == null) {
                model.close();
                throw new ModelFormatException(modelFile, "tokenizer",
                        "a llama2.c checkpoint carries no tokenizer; pass its tokenizer file (e.g. --tokenizer tok512.bin)");
            }
        }
        try {
            // The whole tokenizer file is read: taking only the model's vocabulary size of its
            // entries would pair a 512-token model with the first 512 pieces of a 32k tokenizer.
            String source = "its metadata";
            if (tokenizer == null) {
                tokenizer = new SentencePieceBpeTokenizer(Llama2cTokenizerReader.read(tokenizerFile));
                source = "tokenizer " + tokenizerFile.getFileName();
            }
            if (tokenizer.vocabSize() != model.config().vocabSize()) {
                throw new ModelFormatException(modelFile, "tokenizer", "the tokenizer (" + source + ") has "
                        + tokenizer.vocabSize() + " tokens but the model's embedding has " + model.config().vocabSize()
                        + " rows; pass the tokenizer the model was trained with");
            }
            checkTokenIds(modelFile, "tokenizer.ggml.eot_token_id/eom_token_id", endTokens, tokenizer.vocabSize());
            return new LoadedModel(model, tokenizer, System.nanoTime() - start, chatTemplate,
                    endOfGeneration(tokenizer, endTokens));
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * A Hugging Face checkpoint directory with its tokenizer.json (or {@code tokenizerFile}: a
     * tokenizer.json, GGUF file or directory) and the chat template of its tokenizer_config.json.
     * The embedding may have more rows than the tokenizer has tokens: checkpoints pad it (Qwen's
     * 151936 rows for 151665 tokens).
     */
    private static LoadedModel openCheckpoint(Path dir, Path tokenizerFile, long start, LoadOptions options)
            throws IOException {
        Model model = HfCheckpoint.load(dir, options);
        try {
            Tokenizer tokenizer = tokenizerFile != null ? Tokenizers.open(tokenizerFile) : TokenizerJson.readDirectory(dir);
            if (tokenizer.vocabSize() > model.config().vocabSize()) {
                throw new ModelFormatException(dir, "tokenizer", "the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's embedding only " + model.config().vocabSize() + " rows");
            }
            List<Integer> endTokens = HfCheckpoint.eosTokenIds(dir);
            checkTokenIds(dir.resolve("generation_config.json"), "eos_token_id", endTokens, tokenizer.vocabSize());
            return new LoadedModel(model, tokenizer, System.nanoTime() - start, HfCheckpoint.chatTemplate(dir),
                    endOfGeneration(tokenizer, endTokens));
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static void checkTokenIds(Path file, String field, List<Integer> ids, int vocabSize)
            throws ModelFormatException {
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new ModelFormatException(file, field, "token id " + id + " is outside the vocabulary of "
                        + vocabSize + " tokens");
            }
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
