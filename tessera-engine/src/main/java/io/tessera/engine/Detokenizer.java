package io.tessera.engine;

import io.tessera.core.tokenizer.StreamingDecoder;
import io.tessera.core.tokenizer.Tokenizer;

/**
 * Turns generated tokens into text incrementally, for streaming and stop strings. The engine keeps
 * one stream per sample.
 */
public interface Detokenizer {

    /** A stream for text generated after a prompt whose last token is {@code lastPromptToken}. */
    Stream open(int lastPromptToken);

    /**
     * Tokens this detokenizer can decode: ids {@code 0..n-1}. The engine samples only these, so a
     * model whose embedding has padding rows beyond its tokenizer's vocabulary (Qwen's 151,936 rows
     * for fewer tokens) never emits one of them.
     */
    default int vocabularySize() {
        return Integer.MAX_VALUE;
    }

    /** Decodes one sample's tokens in order. */
    interface Stream {
        /** Text completed by this token (possibly empty: half a character is held). */
        String push(int token);

        /** Text still held at the end. */
        String flush();
    }

    /** Streams text with a tokenizer's streaming decoder (never half a UTF-8 character). */
    static Detokenizer of(Tokenizer tokenizer) {
        return new Detokenizer() {
            @Override
            public Stream open(int last) {
                StreamingDecoder d = tokenizer.newStreamingDecoder(last);
                return new Stream() {
                    @Override
                    public String push(int token) {
                        return d.push(token);
                    }

                    @Override
                    public String flush() {
                        return d.flush();
                    }
                };
            }

            @Override
            public int vocabularySize() {
                return tokenizer.vocabSize();
            }
        };
    }
}
