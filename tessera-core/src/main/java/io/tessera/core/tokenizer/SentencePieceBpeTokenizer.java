package io.tessera.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE over scored pieces with byte fallback: the tokenizer of llama2.c and of
 * GGUF files with {@code tokenizer.ggml.model = "llama"} (Llama 1/2, Mistral, TinyLlama...).
 *
 * <p>Encoding: optional BOS; a dummy space before the text; spaces written as the vocabulary's
 * space marker; one symbol per character; then the adjacent pair whose concatenation is the
 * highest-scoring piece is merged (leftmost on ties) until no pair forms a piece; characters left
 * without a piece become their UTF-8 bytes' {@code <0xHH>} pieces. The merge loop keeps candidate
 * pairs in a priority queue over a linked list of symbols, so it costs O(n log n), not O(n^2).
 */
public final class SentencePieceBpeTokenizer implements Tokenizer, StreamingDecoder.TokenBytes {
    /** What SentencePiece prints for the unknown token. */
    private static final byte[] UNKNOWN_SURFACE = " \u2047 ".getBytes(StandardCharsets.UTF_8);

    private final Vocabulary vocab;
    private final byte[][] pieceBytes;
    /** Pieces matched literally in text, by first char, longest first: user-defined ones always. */
    private final Map<Character, List<Integer>> userDefined = new HashMap<>();
    /** Control and unknown pieces, matched only when parsing special tokens. */
    private final Map<Character, List<Integer>> specials = new HashMap<>();

    public SentencePieceBpeTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        int n = vocab.size();
        this.pieceBytes = new byte[n][];
        for (int id = 0; id < n; id++) {
            String piece = vocab.piece(id);
            pieceBytes[id] = switch (vocab.tokenType(id)) {
                case Vocabulary.CONTROL, Vocabulary.UNUSED -> new byte[0];
                case Vocabulary.UNKNOWN -> UNKNOWN_SURFACE;
                case Vocabulary.BYTE -> {
                    int b = Vocabulary.byteValue(piece);
                    yield b >= 0 ? new byte[] {(byte) b} : piece.getBytes(StandardCharsets.UTF_8);
                }
                default -> piece.replace(vocab.spaceMarker(), ' ').getBytes(StandardCharsets.UTF_8);
            };
            if (piece.isEmpty()) continue;
            switch (vocab.tokenType(id)) {
                case Vocabulary.USER_DEFINED -> index(userDefined, id);
                case Vocabulary.CONTROL, Vocabulary.UNKNOWN -> index(specials, id);
                default -> { }
            }
        }
        Comparator<Integer> longestFirst = Comparator.comparingInt((Integer id) -> vocab.piece(id).length()).reversed();
        userDefined.values().forEach(l -> l.sort(longestFirst));
        specials.values().forEach(l -> l.sort(longestFirst));
    }

    private void index(Map<Character, List<Integer>> map, int id) {
        map.computeIfAbsent(vocab.piece(id).charAt(0), c -> new ArrayList<>()).add(id);
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() + 2);
        if (addBos) out.add(vocab.bos());
        // As llama.cpp does: the dummy prefix goes before the text and after each literal special token.
        boolean afterSpecial = true;
        int segmentStart = 0;
        int i = 0;
        while (i < text.length()) {
            int special = matchSpecial(text, i, parseSpecial);
            if (special < 0) {
                i++;
                continue;
            }
            if (i > segmentStart) {
                encodeSegment(text.substring(segmentStart, i), afterSpecial, out);
            }
            out.add(special);
            afterSpecial = true;
            i += vocab.piece(special).length();
            segmentStart = i;
        }
        if (segmentStart < text.length()) {
            encodeSegment(text.substring(segmentStart), afterSpecial, out);
        }
        return out.toArray();
    }

    private int matchSpecial(String text, int at, boolean parseSpecial) {
        char c = text.charAt(at);
        int found = longestMatch(userDefined.get(c), text, at);
        if (parseSpecial) {
            int s = longestMatch(specials.get(c), text, at);
            if (s >= 0 && (found < 0 || vocab.piece(s).length() > vocab.piece(found).length())) found = s;
        }
        return found;
    }

    private int longestMatch(List<Integer> candidates, String text, int at) {
        if (candidates != null) {
            for (int id : candidates) {
                if (text.startsWith(vocab.piece(id), at)) return id;
            }
        }
        return -1;
    }

    /** A merge candidate: symbols left and right, adjacent when queued, spanning len chars. */
    private record Pair(int left, int right, int start, int len, int id, float score) {}

    private static final Comparator<Pair> BEST_FIRST =
            Comparator.comparingDouble((Pair p) -> -p.score).thenComparingInt(Pair::start);

    private void encodeSegment(String segment, boolean dummyPrefix, IntList out) {
        char marker = vocab.spaceMarker();
        String s = (dummyPrefix && vocab.addSpacePrefix() ? " " : "") + segment;
        if (marker != ' ') s = s.replace(' ', marker);

        // One symbol per code point, in a doubly linked list; len 0 marks a symbol merged away.
        int n = s.codePointCount(0, s.length());
        if (n == 0) return;
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        int[] ids = new int[n];
        for (int k = 0, pos = 0; k < n; k++) {
            int cpLen = Character.charCount(s.codePointAt(pos));
            start[k] = pos;
            len[k] = cpLen;
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
            ids[k] = mergeableId(s.substring(pos, pos + cpLen));
            pos += cpLen;
        }

        PriorityQueue<Pair> queue = new PriorityQueue<>(Math.max(1, n), BEST_FIRST);
        for (int k = 0; k + 1 < n; k++) {
            offer(queue, s, k, k + 1, start, len);
        }
        while (!queue.isEmpty()) {
            Pair p = queue.poll();
            // Skip stale pairs: a side was merged away, or grew since the pair was queued.
            if (len[p.left] == 0 || len[p.right] == 0 || next[p.left] != p.right
                    || len[p.left] + len[p.right] != p.len) {
                continue;
            }
            int l = p.left;
            int r = p.right;
            len[l] = p.len;
            ids[l] = p.id;
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            if (prev[l] >= 0) offer(queue, s, prev[l], l, start, len);
            if (next[l] >= 0) offer(queue, s, l, next[l], start, len);
        }

        for (int k = 0; k >= 0; k = next[k]) {
            if (ids[k] >= 0) {
                out.add(ids[k]);
            } else {
                byte[] bytes = s.substring(start[k], start[k] + len[k]).getBytes(StandardCharsets.UTF_8);
                for (byte b : bytes) {
                    int id = vocab.byteId(b);
                    if (id < 0) id = vocab.unk();
                    if (id >= 0) out.add(id);
                }
            }
        }
    }

    private void offer(PriorityQueue<Pair> queue, String s, int left, int right, int[] start, int[] len) {
        int total = len[left] + len[right];
        if (total > vocab.maxPieceLength()) return;
        int id = mergeableId(s.substring(start[left], start[left] + total));
        if (id >= 0) queue.add(new Pair(left, right, start[left], total, id, vocab.score(id)));
    }

    /** The id of a text piece BPE may produce (normal or user-defined), or -1. */
    private int mergeableId(String text) {
        int id = vocab.id(text);
        if (id < 0) return -1;
        int type = vocab.tokenType(id);
        return type == Vocabulary.NORMAL || type == Vocabulary.USER_DEFINED ? id : -1;
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        return decodeRange(ids, from, to);
    }

    /** The decoding state is the previous token. */
    @Override
    public int initialState(int precedingToken) {
        return precedingToken;
    }

    /** Feeds the bytes of one token; a text piece right after BOS loses its leading space. */
    @Override
    public int appendBytes(int previous, int id, Utf8Decoder utf8, StringBuilder out) {
        checkId(id);
        byte[] bytes = pieceBytes[id];
        int skip = 0;
        if (previous == vocab.bos() && bytes.length > 0 && bytes[0] == ' ') {
            int type = vocab.tokenType(id);
            if (type == Vocabulary.NORMAL || type == Vocabulary.USER_DEFINED) skip = 1;
        }
        for (int i = skip; i < bytes.length; i++) {
            utf8.feed(bytes[i] & 0xFF, out);
        }
        return id;
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieceBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is out of range for a vocabulary of "
                    + pieceBytes.length);
        }
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return vocab.piece(id);
    }

    /** The unknown token's bytes are a placeholder, not text: it has none here. */
    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return vocab.tokenType(id) == Vocabulary.UNKNOWN ? new byte[0] : pieceBytes[id].clone();
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public int bos() {
        return vocab.bos();
    }

    @Override
    public int eos() {
        return vocab.eos();
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return vocab.tokenType(id) == Vocabulary.CONTROL;
    }

    @Override
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(this, -1);
    }

    @Override
    public StreamingDecoder newStreamingDecoder(int precedingToken) {
        return new StreamingDecoder(this, precedingToken);
    }
}
