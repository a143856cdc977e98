package io.tessera.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The token-to-bytes half of a Hugging Face decoder ({@code "decoder"} in tokenizer.json): each
 * step rewrites a token's text, or turns it into bytes, in order; text left at the end is UTF-8.
 * Fuse needs no step (tokens are concatenated anyway); Strip of one leading space and Metaspace's
 * prefix removal are the {@link #stripsFirstSpace} flag, applied to the first token of a sequence.
 */
record TokenDecoder(List<Step> steps, boolean stripsFirstSpace) {

    sealed interface Step {}

    /** Replaces a literal string in the token's text. */
    record Replace(String pattern, String content) implements Step {}

    /** A {@code <0xHH>} token becomes its byte. */
    record ByteFallback() implements Step {}

    /** Byte-level characters become their bytes (a token with other characters stays text). */
    record ByteLevel() implements Step {}

    static final TokenDecoder PLAIN = new TokenDecoder(List.of(), false);

    byte[] bytes(String piece) {
        String text = piece;
        for (Step step : steps) {
            switch (step) {
                case Replace r -> text = text.replace(r.pattern(), r.content());
                case ByteFallback b -> {
                    int v = Vocabulary.byteValue(text);
                    if (v >= 0) return new byte[] {(byte) v};
                }
                case ByteLevel b -> {
                    byte[] bytes = ByteLevelAlphabet.decode(text);
                    if (bytes != null) return bytes;
                }
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
