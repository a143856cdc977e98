package io.tessera.core.tokenizer;

/** Turns text into token ids and back. Implementations are immutable and thread-safe. */
public interface Tokenizer {

    /** Encodes text, treating any special-token text in it as plain text. */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    /**
     * Encodes text.
     *
     * @param addBos add the tokenizer's own special tokens: BOS, or for a Hugging Face tokenizer
     *     its post-processor template (which may add BOS and/or EOS, or nothing)
     * @param parseSpecial recognise control pieces written in the text (such as {@code <s>}) as
     *     their ids; off for untrusted user text so that it cannot inject control tokens
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    default String decode(int[] ids) {
        return decode(ids, 0, ids.length);
    }

    /**
     * Decodes {@code ids[from, to)}. The token before {@code from}, if any, is context: a piece
     * right after BOS loses its leading space (the dummy prefix added by encoding).
     */
    String decode(int[] ids, int from, int to);

    /**
     * The bytes a token decodes to in the middle of a text (no leading space dropped), possibly
     * part of a UTF-8 character; empty for a control token.
     */
    byte[] tokenBytes(int id);

    /** The raw piece text of a token. */
    String piece(int id);

    int vocabSize();

    /** The BOS id, or -1 for a tokenizer that has none (e.g. a Qwen tokenizer.json). */
    int bos();

    /** The EOS id, or -1 for a tokenizer that names none. */
    int eos();

    /** Whether the token is a control token (BOS, EOS, pad...), which decodes to no text. */
    boolean isSpecial(int id);

    /** A decoder for a sequence that starts here (the first token pushed has no predecessor). */
    StreamingDecoder newStreamingDecoder();

    /**
     * A decoder continuing a sequence whose last token so far was {@code precedingToken}; e.g. the
     * last prompt token, so that text generated after a bare BOS loses its dummy-prefix space.
     */
    StreamingDecoder newStreamingDecoder(int precedingToken);
}
