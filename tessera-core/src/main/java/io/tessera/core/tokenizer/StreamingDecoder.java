package io.tessera.core.tokenizer;

/**
 * Decodes a sequence one token at a time, for streaming output. Never returns half a character:
 * bytes of an incomplete UTF-8 sequence are held until it completes or proves invalid. The
 * concatenation of all {@link #push} results and {@link #flush} equals
 * {@link Tokenizer#decode(int[])} of the same tokens. Not thread-safe; one per sequence.
 */
public final class StreamingDecoder {
    private final TokenBytes tokenizer;
    private final Utf8Decoder utf8 = new Utf8Decoder();
    private final StringBuilder out = new StringBuilder();
    private int state;

    StreamingDecoder(TokenBytes tokenizer, int precedingToken) {
        this.tokenizer = tokenizer;
        this.state = tokenizer.initialState(precedingToken);
    }

    /** Adds a token; returns the text completed by it (possibly empty). */
    public String push(int tokenId) {
        state = tokenizer.appendBytes(state, tokenId, utf8, out);
        return take();
    }

    /** Ends the sequence: returns U+FFFD for a trailing incomplete sequence, else "". */
    public String flush() {
        utf8.finish(out);
        return take();
    }

    /** Whether bytes of an incomplete character are being held back. */
    public boolean hasPending() {
        return utf8.hasPending();
    }

    private String take() {
        String s = out.toString();
        out.setLength(0);
        return s;
    }

    /**
     * What a tokenizer gives the decoder: the bytes of a token, which may depend on what came
     * before it in the sequence (a leading space dropped at the start), summed up in an int state.
     */
    interface TokenBytes {
        /** The state after {@code precedingToken} (-1: at the start of a sequence). */
        int initialState(int precedingToken);

        /** Feeds the bytes of {@code id}; returns the state after it. */
        int appendBytes(int state, int id, Utf8Decoder utf8, StringBuilder out);

        /** Decodes {@code ids[from, to)}, the token before {@code from} (if any) as context. */
        default String decodeRange(int[] ids, int from, int to) {
            if (from < 0 || to > ids.length || from > to) {
                throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") of " + ids.length + " ids");
            }
            Utf8Decoder utf8 = new Utf8Decoder();
            StringBuilder out = new StringBuilder();
            int state = initialState(from > 0 ? ids[from - 1] : -1);
            for (int i = from; i < to; i++) {
                state = appendBytes(state, ids[i], utf8, out);
            }
            utf8.finish(out);
            return out.toString();
        }
    }
}
