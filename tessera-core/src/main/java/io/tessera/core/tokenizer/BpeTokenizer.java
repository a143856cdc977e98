package io.tessera.core.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face tokenizer pipeline around a BPE model: the tokenizer of tokenizer.json files
 * (byte-level BPE of Llama 3, Qwen, DeepSeek, GPT-4o-style models, and SentencePiece-style BPE
 * written as tokenizer.json: Llama 2, Mistral, Gemma) and of GGUF files with
 * {@code tokenizer.ggml.model = "gpt2"}.
 *
 * <p>Encoding runs the stages of Hugging Face's {@code TokenizerImpl::encode}: added tokens are
 * cut out of the raw text; each stretch between them is normalized, then cut at the added tokens
 * matched on normalized text; the pre-tokenizer splits the rest into words; the model encodes each
 * word; with special tokens on, the post-processor's template puts its tokens around the result.
 *
 * <p>Decoding maps each token to bytes (byte-level characters to their bytes, {@code <0xHH>} byte
 * tokens to their byte, U+2581 to a space) and drops special tokens. The first text token of a
 * sequence (nothing but special tokens before it) loses one leading space when the decoder strips
 * the dummy prefix (Metaspace, or Strip of one space), as Hugging Face's decode with
 * {@code skip_special_tokens} does. Immutable and thread-safe.
 */
public final class BpeTokenizer implements Tokenizer, StreamingDecoder.TokenBytes {
    private final BpeModel model;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final AddedToken[] addedById;
    private final Map<String, Integer> addedIds = new HashMap<>();
    private final AddedTokenMatcher rawWithSpecial;
    private final AddedTokenMatcher rawPlain;
    private final AddedTokenMatcher normalizedWithSpecial;
    private final AddedTokenMatcher normalizedPlain;
    private final int[] templatePrefix;
    private final int[] templateSuffix;
    private final String[] pieces;
    private final byte[][] tokenBytes;
    private final boolean stripFirstSpace;
    private final int bos;
    private final int eos;

    BpeTokenizer(BpeModel model, Normalizer normalizer, PreTokenizer preTokenizer, List<AddedToken> added,
                 int[] templatePrefix, int[] templateSuffix, TokenDecoder decoder, int bos, int eos) {
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.templatePrefix = templatePrefix.clone();
        this.templateSuffix = templateSuffix.clone();

        int size = 0;
        for (int id : model.vocab().values()) size = Math.max(size, id + 1);
        for (AddedToken t : added) size = Math.max(size, t.id() + 1);
        // Ids are dense in real vocabularies; a stray huge id would make every per-id table huge.
        long entries = (long) model.vocab().size() + added.size();
        if (size > 2 * entries + 1024) {
            throw new IllegalArgumentException("token id " + (size - 1) + " is far beyond the " + entries
                    + " tokens the vocabulary has");
        }
        this.pieces = new String[size];
        model.vocab().forEach((piece, id) -> pieces[id] = piece);
        this.addedById = new AddedToken[size];
        for (AddedToken t : added) {
            addedById[t.id()] = t;
            pieces[t.id()] = t.content();
            addedIds.putIfAbsent(t.content(), t.id());
        }
        checkId("bos", bos, size);
        checkId("eos", eos, size);
        for (int id : templatePrefix) checkId("template token", id, size);
        for (int id : templateSuffix) checkId("template token", id, size);
        this.bos = bos;
        this.eos = eos;

        List<AddedToken> raw = new ArrayList<>();
        List<AddedToken> normalized = new ArrayList<>();
        for (AddedToken t : added) (t.normalized() ? normalized : raw).add(t);
        this.rawWithSpecial = matcher(raw, true, false);
        this.rawPlain = matcher(raw, false, false);
        this.normalizedWithSpecial = matcher(normalized, true, true);
        this.normalizedPlain = matcher(normalized, false, true);

        this.tokenBytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            if (pieces[id] == null) {
                pieces[id] = "";
                tokenBytes[id] = new byte[0];
            } else {
                tokenBytes[id] = isSpecial(id) ? new byte[0] : decoder.bytes(pieces[id]);
            }
        }
        this.stripFirstSpace = decoder.stripsFirstSpace();
    }

    private static void checkId(String what, int id, int size) {
        if (id < -1 || id >= size) {
            throw new IllegalArgumentException(what + " id " + id + " is out of range for a vocabulary of " + size);
        }
    }

    private AddedTokenMatcher matcher(List<AddedToken> tokens, boolean withSpecial, boolean normalizeText) {
        List<AddedToken> chosen = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (AddedToken t : tokens) {
            if (t.special() && !withSpecial) continue;
            chosen.add(t);
            texts.add(normalizeText && normalizer != null ? normalizer.normalize(t.content()) : t.content());
        }
        return new AddedTokenMatcher(chosen, texts);
    }

    /**
     * Encodes text.
     *
     * @param addSpecial add the post-processor's template tokens (BOS, EOS...); off for raw ids
     * @param parseSpecial match special added tokens written in the text; off for untrusted text,
     *     whose special-token strings are then encoded as plain text. Non-special added tokens
     *     always match.
     */
    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 8);
        if (addSpecial) {
            out.addAll(templatePrefix);
        }
        AddedTokenMatcher raw = parseSpecial ? rawWithSpecial : rawPlain;
        AddedTokenMatcher normalized = parseSpecial ? normalizedWithSpecial : normalizedPlain;
        PreTokenizer.Sink words = (word, atStart) -> model.encode(word, out);
        raw.split(text, new AddedTokenMatcher.Sink() {
            @Override
            public void text(String segment, int start) {
                String norm = normalizer == null ? segment : normalizer.normalize(segment);
                if (normalized.isEmpty()) {
                    preTokenize(norm, start == 0, words);
                    return;
                }
                normalized.split(norm, new AddedTokenMatcher.Sink() {
                    @Override
                    public void text(String piece, int pieceStart) {
                        preTokenize(piece, start == 0 && pieceStart == 0, words);
                    }

                    @Override
                    public void token(AddedToken token) {
                        out.add(token.id());
                    }
                });
            }

            @Override
            public void token(AddedToken token) {
                out.add(token.id());
            }
        });
        if (addSpecial) {
            out.addAll(templateSuffix);
        }
        return out.toArray();
    }

    private void preTokenize(String text, boolean atStart, PreTokenizer.Sink words) {
        if (text.isEmpty()) return;
        if (preTokenizer == null) {
            words.accept(text, atStart);
        } else {
            preTokenizer.split(text, atStart, words);
        }
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        return decodeRange(ids, from, to);
    }

    /** The decoding state: 1 once a text (non-special) token has been seen, else 0. */
    @Override
    public int initialState(int precedingToken) {
        return precedingToken >= 0 && !isSpecial(precedingToken) ? 1 : 0;
    }

    @Override
    public int appendBytes(int textSeen, int id, Utf8Decoder utf8, StringBuilder out) {
        checkId(id);
        if (isSpecial(id)) return textSeen;
        byte[] bytes = tokenBytes[id];
        int skip = stripFirstSpace && textSeen == 0 && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
        for (int i = skip; i < bytes.length; i++) {
            utf8.feed(bytes[i] & 0xFF, out);
        }
        return 1;
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is out of range for a vocabulary of " + pieces.length);
        }
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return tokenBytes[id].clone();
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    /** The BOS id, or -1 if the tokenizer names none. */
    @Override
    public int bos() {
        return bos;
    }

    /** The EOS id, or -1 if the tokenizer names none. */
    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return addedById[id] != null && addedById[id].special();
    }

    /** The added token of an id, or null if the id is the model's own. */
    public AddedToken addedToken(int id) {
        checkId(id);
        return addedById[id];
    }

    /** The id of a token (the model's or an added one), or -1. */
    public int id(String token) {
        Integer id = addedIds.get(token);
        return id != null ? id : model.id(token);
    }

    BpeModel model() {
        return model;
    }

    int[] templatePrefix() {
        return templatePrefix.clone();
    }

    int[] templateSuffix() {
        return templateSuffix.clone();
    }

    @Override
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(this, -1);
    }

    @Override
    public StreamingDecoder newStreamingDecoder(int precedingToken) {
        return new StreamingDecoder(this, precedingToken);
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + pieces.length + " tokens, " + model.mergeCount() + " merges, "
                + addedIds.size() + " added]";
    }
}
