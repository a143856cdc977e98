package io.tessera.core.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The pieces of a SentencePiece-style vocabulary with their scores and token types, and the ids
 * of its special tokens. Immutable; the constructor copies and validates its inputs.
 *
 * <p>Token types are numbered as in GGUF ({@code tokenizer.ggml.token_type}). When none are
 * given (llama2.c files) they are derived: {@code <0xHH>} pieces are bytes, the unknown id is
 * unknown, the bos/eos/pad ids are control, everything else is normal.
 */
public final class Vocabulary {
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;

    /** SentencePiece's visible space, used by GGUF and .model vocabularies. */
    public static final char SPM_SPACE = '\u2581';

    private final String[] pieces;
    private final float[] scores;
    private final int[] tokenTypes;
    private final int bos;
    private final int eos;
    private final int unk;
    private final int pad;
    private final boolean addBos;
    private final boolean addSpacePrefix;
    private final char spaceMarker;
    private final Map<String, Integer> ids;
    private final int[] byteIds = new int[256];
    private final int maxPieceLength;

    /**
     * @param tokenTypes GGUF token types, or null to derive them
     * @param unk the unknown id, or -1 if the vocabulary has none
     * @param pad the padding id, or -1 if none
     * @param addSpacePrefix whether encoding prepends a space to the text (SentencePiece's dummy prefix)
     */
    public Vocabulary(String[] pieces, float[] scores, int[] tokenTypes, int bos, int eos, int unk, int pad,
                      boolean addBos, boolean addSpacePrefix) {
        if (pieces == null || scores == null) {
            throw new IllegalArgumentException("pieces and scores are required");
        }
        int n = pieces.length;
        if (n == 0) {
            throw new IllegalArgumentException("vocabulary is empty");
        }
        if (scores.length != n) {
            throw new IllegalArgumentException("scores has " + scores.length + " entries for " + n + " pieces");
        }
        if (tokenTypes != null && tokenTypes.length != n) {
            throw new IllegalArgumentException("tokenTypes has " + tokenTypes.length + " entries for " + n + " pieces");
        }
        checkId("bos", bos, n, false);
        checkId("eos", eos, n, false);
        checkId("unk", unk, n, true);
        checkId("pad", pad, n, true);
        for (int i = 0; i < n; i++) {
            if (pieces[i] == null) {
                throw new IllegalArgumentException("piece " + i + " is null");
            }
        }
        this.pieces = pieces.clone();
        this.scores = scores.clone();
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.pad = pad;
        this.addBos = addBos;
        this.addSpacePrefix = addSpacePrefix;
        if (tokenTypes != null) {
            for (int i = 0; i < n; i++) {
                if (tokenTypes[i] < NORMAL || tokenTypes[i] > BYTE) {
                    throw new IllegalArgumentException("token " + i + " has invalid type " + tokenTypes[i]
                            + " (expected 1..6)");
                }
            }
            this.tokenTypes = tokenTypes.clone();
        } else {
            this.tokenTypes = deriveTypes(this.pieces, bos, eos, unk, pad);
        }

        // On duplicate pieces the lowest id wins, as in SentencePiece.
        this.ids = HashMap.newHashMap(n);
        int maxLen = 0;
        int spm = 0;
        int ascii = 0;
        for (int i = 0; i < n; i++) {
            ids.putIfAbsent(this.pieces[i], i);
            maxLen = Math.max(maxLen, this.pieces[i].length());
            if (!this.pieces[i].isEmpty()) {
                char c = this.pieces[i].charAt(0);
                if (c == SPM_SPACE) spm++;
                else if (c == ' ') ascii++;
            }
        }
        this.maxPieceLength = maxLen;
        // llama2.c files store spaces as ' ', SentencePiece models as U+2581: use what the pieces use.
        this.spaceMarker = spm > ascii ? SPM_SPACE : ' ';
        Arrays.fill(byteIds, -1);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(bytePiece(b));
            if (id != null) byteIds[b] = id;
        }
    }

    private static void checkId(String name, int id, int n, boolean optional) {
        if (optional && id == -1) return;
        if (id < 0 || id >= n) {
            throw new IllegalArgumentException(name + " id " + id + " is out of range for a vocabulary of " + n
                    + (optional ? " (use -1 for none)" : ""));
        }
    }

    private static int[] deriveTypes(String[] pieces, int bos, int eos, int unk, int pad) {
        int[] types = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            types[i] = byteValue(pieces[i]) >= 0 ? BYTE : NORMAL;
        }
        if (unk >= 0) types[unk] = UNKNOWN;
        types[bos] = CONTROL;
        types[eos] = CONTROL;
        if (pad >= 0) types[pad] = CONTROL;
        return types;
    }

    /** The piece text of a byte token, e.g. {@code <0x0A>}. */
    public static String bytePiece(int b) {
        return String.format("<0x%02X>", b & 0xFF);
    }

    /** The byte of a {@code <0xHH>} piece, or -1 if the piece is not of that form. */
    public static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    public int size() { return pieces.length; }

    public String piece(int id) { return pieces[id]; }

    public float score(int id) { return scores[id]; }

    public int tokenType(int id) { return tokenTypes[id]; }

    public int bos() { return bos; }

    public int eos() { return eos; }

    /** The unknown id, or -1. */
    public int unk() { return unk; }

    /** The padding id, or -1. */
    public int pad() { return pad; }

    public boolean addBos() { return addBos; }

    public boolean addSpacePrefix() { return addSpacePrefix; }

    /** The character that stands for a space inside pieces: ' ' (llama2.c) or U+2581 (SentencePiece). */
    public char spaceMarker() { return spaceMarker; }

    /** The id of a piece, or -1. */
    public int id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** The id of the {@code <0xHH>} piece of a byte, or -1 if the vocabulary has none. */
    public int byteId(int b) { return byteIds[b & 0xFF]; }

    /** Length in chars of the longest piece; no merge can produce anything longer. */
    public int maxPieceLength() { return maxPieceLength; }
}
