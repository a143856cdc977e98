package io.tessera.engine;

/**
 * Turns generated tokens into text incrementally, for streaming and stop strings. The engine keeps
 * one stream per sample.
 */
public interface Detokenizer {

    /** A stream for text generated after a prompt whose last token is {@code lastPromptToken}. */
    Stream open(int lastPromptToken);

    /** Decodes one sample's tokens in order. */
    interface Stream {
        /** Text completed by this token (possibly empty: half a character is held). */
        String push(int token);

        /** Text still held at the end. */
        String flush();
    }
}
