package io.tessera.core.synth;

import io.tessera.core.tokenizer.Vocabulary;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A made-up SentencePiece vocabulary of any size, for synthetic models whose real tokenizer is not
 * at hand: the three control pieces, the 256 byte pieces, then distinct word-like pieces with
 * falling scores. Text round-trips through it (byte fallback covers anything), which is all a
 * speed or memory benchmark needs.
 */
public final class SyntheticVocabulary {

    private static final String LETTERS = "etaoinshrdlucmfwypvbgkjqxz";

    private SyntheticVocabulary() {
    }

    public static Vocabulary generate(int size, long seed) {
        if (size < 3 + 256 + 27) {
            throw new IllegalArgumentException("a synthetic vocabulary needs at least " + (3 + 256 + 27)
                    + " pieces, got " + size);
        }
        Set<String> pieces = new LinkedHashSet<>();
        pieces.add("<unk>");
        pieces.add("<s>");
        pieces.add("</s>");
        for (int b = 0; b < 256; b++) {
            pieces.add(Vocabulary.bytePiece(b));
        }
        // The word boundary and every letter on its own, so that words can be merged up from them.
        pieces.add(String.valueOf(Vocabulary.SPM_SPACE));
        for (char c : LETTERS.toCharArray()) {
            pieces.add(String.valueOf(c));
        }
        // Piece k spells k in bijective base 26 over a seed-shuffled alphabet, so every piece is new
        // (no rejection loop, linear in the size); about two in three start with a word boundary.
        SplittableRandom rnd = new SplittableRandom(seed);
        char[] alphabet = LETTERS.toCharArray();
        for (int i = alphabet.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            char t = alphabet[i];
            alphabet[i] = alphabet[j];
            alphabet[j] = t;
        }
        StringBuilder sb = new StringBuilder();
        for (long k = alphabet.length + 1; pieces.size() < size; k++) {
            sb.setLength(0);
            for (long n = k; n > 0; n = (n - 1) / alphabet.length) {
                sb.append(alphabet[(int) ((n - 1) % alphabet.length)]);
            }
            if (rnd.nextInt(3) > 0) {
                sb.insert(0, Vocabulary.SPM_SPACE);
            }
            pieces.add(sb.toString());
        }
        String[] arr = pieces.toArray(String[]::new);
        float[] scores = new float[size];
        int[] types = new int[size];
        for (int i = 0; i < size; i++) {
            scores[i] = i < 259 ? 0f : -(i - 259);
            types[i] = i == 0 ? Vocabulary.UNKNOWN : i < 3 ? Vocabulary.CONTROL : i < 259 ? Vocabulary.BYTE
                    : Vocabulary.NORMAL;
        }
        return new Vocabulary(arr, scores, types, 1, 2, 0, -1, true, true);
    }

    /**
     * The vocabulary with each of {@code pieces} in it: a missing one takes the place of the last
     * normal piece still free, as a control token (so the size, and every other id, stay as they
     * were). Pieces already present are left as they are.
     */
    public static Vocabulary withControlPieces(Vocabulary v, List<String> pieces) {
        int n = v.size();
        String[] arr = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            arr[i] = v.piece(i);
            scores[i] = v.score(i);
            types[i] = v.tokenType(i);
        }
        int slot = n;
        boolean changed = false;
        for (String piece : pieces) {
            if (v.id(piece) >= 0) {
                continue;
            }
            do {
                slot--;
            } while (slot >= 0 && (types[slot] != Vocabulary.NORMAL || slot == v.bos() || slot == v.eos()));
            if (slot < 0) {
                throw new IllegalArgumentException("the vocabulary has no normal piece left for '" + piece + "'");
            }
            arr[slot] = piece;
            scores[slot] = 0f;
            types[slot] = Vocabulary.CONTROL;
            changed = true;
        }
        return changed ? new Vocabulary(arr, scores, types, v.bos(), v.eos(), v.unk(), v.pad(), v.addBos(),
                v.addSpacePrefix()) : v;
    }
}
