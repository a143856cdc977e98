package io.tessera.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a Hugging Face tokenizer: a vocabulary and ranked merges, encoding one
 * pre-tokenized word at a time, as Hugging Face's {@code models::bpe::BPE} does.
 *
 * <p>A word starts as one symbol per character (a character outside the vocabulary becomes its
 * {@code <0xHH>} byte tokens with {@code byteFallback}, else the unknown token, consecutive
 * unknowns fused into one with {@code fuseUnk}, or nothing if there is no unknown token); then
 * the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair merges.
 * With {@code ignoreMerges} a word that is itself in the vocabulary is that token outright.
 * Immutable apart from a bounded cache of encoded words; thread-safe.
 */
final class BpeModel {
    /** Words longer than this are not cached (as in Hugging Face). */
    private static final int MAX_CACHED_WORD = 256;
    private static final int CACHE_CAPACITY = 100_000;

    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final List<String[]> mergeList;
    private final int unk;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String prefix;
    private final String suffix;
    /** Ids of single-character BMP tokens, -1 where none: the common case of a word's first symbols. */
    private final int[] charIds = new int[0x10000];
    private final int[] byteIds = new int[256];
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges each merge as its two parts, in rank order
     * @param unkToken the unknown token, or null
     * @param prefix {@code continuing_subword_prefix}, or null
     * @param suffix {@code end_of_word_suffix}, or null
     */
    BpeModel(Map<String, Integer> vocab, List<String[]> merges, String unkToken, boolean fuseUnk,
             boolean byteFallback, boolean ignoreMerges, String prefix, String suffix) {
        this.vocab = Map.copyOf(vocab);
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix == null || prefix.isEmpty() ? null : prefix;
        this.suffix = suffix == null || suffix.isEmpty() ? null : suffix;
        if (unkToken != null) {
            Integer id = vocab.get(unkToken);
            if (id == null) {
                throw new IllegalArgumentException("unk_token '" + unkToken + "' is not in the vocabulary");
            }
            this.unk = id;
        } else {
            this.unk = -1;
        }
        Arrays.fill(charIds, -1);
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            String t = e.getKey();
            if (t.length() == 1) charIds[t.charAt(0)] = e.getValue();
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(Vocabulary.bytePiece(b));
            byteIds[b] = id == null ? -1 : id;
        }
        this.mergeList = List.copyOf(merges);
        this.merges = new MergeTable(merges.size());
        int prefixLength = this.prefix == null ? 0 : this.prefix.length();
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            Integer a = vocab.get(m[0]);
            Integer b = vocab.get(m[1]);
            if (a == null || b == null) {
                throw new IllegalArgumentException("merge " + rank + " ('" + m[0] + "' '" + m[1]
                        + "') uses a token that is not in the vocabulary");
            }
            String right = prefixLength > 0 && m[1].startsWith(this.prefix) ? m[1].substring(prefixLength) : m[1];
            Integer merged = vocab.get(m[0] + right);
            if (merged == null) {
                throw new IllegalArgumentException("merge " + rank + " ('" + m[0] + "' '" + m[1]
                        + "') makes '" + m[0] + right + "', which is not in the vocabulary");
            }
            this.merges.put(a, b, rank, merged);
        }
    }

    /** The id of a token, or -1. */
    int id(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    Map<String, Integer> vocab() {
        return vocab;
    }

    int mergeCount() {
        return merges.size();
    }

    /** The merges in rank order, each as its two parts. */
    List<String[]> merges() {
        return mergeList;
    }

    /** Appends the ids of one word. */
    void encode(String word, IntList out) {
        if (word.isEmpty()) return;
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        boolean cacheable = word.length() <= MAX_CACHED_WORD;
        if (cacheable) {
            int[] hit = cache.get(word);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int[] ids = mergeWord(word);
        if (cacheable && cache.size() < CACHE_CAPACITY) {
            cache.put(word, ids);
        }
        out.addAll(ids);
    }

    private int[] mergeWord(String word) {
        // The symbols of the word as a doubly linked list over arrays; a merged-away symbol is dead.
        int n = word.length();
        int[] ids = new int[n * 4 + 4];
        int count = 0;
        int pendingUnk = -1;
        for (int i = 0; i < n; ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            boolean first = i == 0;
            boolean last = end == n;
            int id = -1;
            String s = null;
            if (prefix == null && suffix == null && cp < 0x10000) {
                id = charIds[cp];
            } else {
                s = word.substring(i, end);
                if (!first && prefix != null) s = prefix + s;
                if (last && suffix != null) s = s + suffix;
                Integer found = vocab.get(s);
                if (found != null) id = found;
            }
            if (id >= 0) {
                ids = ensure(ids, count + 2);
                if (pendingUnk >= 0) {
                    ids[count++] = pendingUnk;
                    pendingUnk = -1;
                }
                ids[count++] = id;
            } else {
                byte[] bytes = null;
                if (byteFallback) {
                    if (s == null) s = word.substring(i, end);
                    bytes = s.getBytes(StandardCharsets.UTF_8);
                    for (byte b : bytes) {
                        if (byteIds[b & 0xFF] < 0) {
                            bytes = null;
                            break;
                        }
                    }
                }
                if (bytes != null) {
                    // As in Hugging Face, byte tokens go out before a pending unknown token.
                    ids = ensure(ids, count + bytes.length + 1);
                    for (byte b : bytes) ids[count++] = byteIds[b & 0xFF];
                } else if (unk >= 0) {
                    if (pendingUnk >= 0 && !fuseUnk) {
                        ids = ensure(ids, count + 1);
                        ids[count++] = pendingUnk;
                    }
                    pendingUnk = unk;
                }
            }
            i = end;
        }
        if (pendingUnk >= 0) {
            ids = ensure(ids, count + 1);
            ids[count++] = pendingUnk;
        }
        return merge(ids, count);
    }

    private static int[] ensure(int[] a, int size) {
        return size <= a.length ? a : Arrays.copyOf(a, Math.max(size, a.length * 2));
    }

    /**
     * Merges the symbols in rank order. The queue holds (rank, position) packed in a long, so
     * that the smallest value is the lowest rank, leftmost; an entry whose pair has changed
     * since it was queued is skipped when it comes up.
     */
    private int[] merge(int[] ids, int n) {
        if (n < 2) return Arrays.copyOf(ids, n);
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] dead = new boolean[n];
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                int rank = merges.rank(ids[i], ids[i + 1]);
                if (rank >= 0) queue.push(((long) rank << 32) | i);
            }
        }
        int alive = n;
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (dead[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (merges.rank(ids[pos], ids[right]) != rank) continue;
            ids[pos] = merges.mergedId(ids[pos], ids[right]);
            dead[right] = true;
            alive--;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) {
                int r = merges.rank(ids[prev[pos]], ids[pos]);
                if (r >= 0) queue.push(((long) r << 32) | prev[pos]);
            }
            if (next[pos] >= 0) {
                int r = merges.rank(ids[pos], ids[next[pos]]);
                if (r >= 0) queue.push(((long) r << 32) | pos);
            }
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0 && k < alive; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= v) break;
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = v;
        }

        long pop() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                if (child + 1 < size && heap[child + 1] < heap[child]) child++;
                if (last <= heap[child]) break;
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}
