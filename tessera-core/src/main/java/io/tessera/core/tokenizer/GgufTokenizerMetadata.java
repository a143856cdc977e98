package io.tessera.core.tokenizer;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufMetadata;
import io.tessera.core.gguf.GgufWriter;

/** A model's tokenizer as GGUF {@code tokenizer.*} metadata. */
public interface GgufTokenizerMetadata {
    /** The number of tokens written; it must be the model's vocabulary size. */
    int size();

    void write(GgufWriter w);

    /** A SentencePiece vocabulary (model {@code llama}). */
    static GgufTokenizerMetadata of(Vocabulary vocabulary) {
        return new GgufTokenizerMetadata() {
            @Override
            public int size() {
                return vocabulary.size();
            }

            @Override
            public void write(GgufWriter w) {
                GgufVocabulary.write(vocabulary, w);
            }
        };
    }

    /**
     * Another GGUF file's tokenizer, every {@code tokenizer.*} key copied as it is (model,
     * tokens, types, merges or scores, pre-tokenizer, special ids, chat templates): what
     * re-quantizing a file keeps, whatever its tokenizer model.
     */
    static GgufTokenizerMetadata copiedFrom(GgufMetadata md) throws ModelFormatException {
        int size = GgufTokenizers.vocabularySize(md);
        return new GgufTokenizerMetadata() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public void write(GgufWriter w) {
                w.putAllStartingWith(md, "tokenizer.");
            }
        };
    }
}
