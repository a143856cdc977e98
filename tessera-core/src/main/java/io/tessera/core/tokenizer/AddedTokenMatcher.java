package io.tessera.core.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text the way Hugging Face's {@code AddedVocabulary::find_matches} does:
 * leftmost-longest matches, scanning on after each; a {@code single_word} token next to a word
 * character is passed over; {@code lstrip}/{@code rstrip} widen a match over adjacent white
 * space (never back into the previous match). Every check looks only at the characters next to
 * the match, so the cost stays linear in the text whatever the number of matches.
 */
final class AddedTokenMatcher {

    /** A token with the text it is matched by. */
    private record Entry(AddedToken token, String text) {}

    /** Candidates by first char, longest first. */
    private final Map<Character, List<Entry>> byFirstChar = new HashMap<>();
    private final boolean[] firstBmp = new boolean[0x10000];

    /** @param texts the text each token is matched by (its content, normalized for normalized tokens) */
    AddedTokenMatcher(List<AddedToken> tokens, List<String> texts) {
        for (int i = 0; i < tokens.size(); i++) {
            String text = texts.get(i);
            if (text.isEmpty()) continue;
            byFirstChar.computeIfAbsent(text.charAt(0), c -> new ArrayList<>()).add(new Entry(tokens.get(i), text));
            firstBmp[text.charAt(0)] = true;
        }
        // Longest first; among equal texts the first listed wins, as the automaton's pattern order does.
        byFirstChar.values().forEach(l -> l.sort(Comparator.comparingInt((Entry e) -> -e.text.length())));
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /** Receives the pieces of a split text in order. */
    interface Sink {
        void text(String text, int start);

        void token(AddedToken token);
    }

    void split(String s, Sink out) {
        int startOffset = 0;
        int i = 0;
        int n = s.length();
        while (i < n) {
            if (!firstBmp[s.charAt(i)]) {
                i++;
                continue;
            }
            Entry match = longestAt(s, i);
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + match.text.length();
            // The scan goes on after the literal match, even when rstrip widens it.
            i = stop;
            AddedToken t = match.token;
            if (t.singleWord()) {
                boolean wordBefore = start > 0 && isWordChar(s.codePointBefore(start));
                boolean wordAfter = stop < n && isWordChar(s.codePointAt(stop));
                if (wordBefore || wordAfter) continue;
            }
            if (t.lstrip()) {
                // Never back into the previous match, which may have taken those spaces already.
                int newStart = start;
                while (newStart > startOffset && isWhiteSpace(s.codePointBefore(newStart))) {
                    newStart -= Character.charCount(s.codePointBefore(newStart));
                }
                start = newStart;
            }
            if (t.rstrip()) {
                while (stop < n && isWhiteSpace(s.codePointAt(stop))) {
                    stop += Character.charCount(s.codePointAt(stop));
                }
            }
            if (startOffset < start) out.text(s.substring(startOffset, start), startOffset);
            out.token(t);
            startOffset = stop;
        }
        if (startOffset < n) out.text(s.substring(startOffset), startOffset);
    }

    /** Rust regex's Unicode {@code \\w}: alphabetic, marks, decimal digits, connector punctuation, joiners. */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || cp == 0x200C || cp == 0x200D) return true;
        int t = Character.getType(cp);
        return t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.COMBINING_SPACING_MARK
                || t == Character.DECIMAL_DIGIT_NUMBER || t == Character.CONNECTOR_PUNCTUATION;
    }

    /** Unicode's White_Space property, which Rust's {@code \\s} and {@code char::is_whitespace} use. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    private Entry longestAt(String s, int at) {
        List<Entry> candidates = byFirstChar.get(s.charAt(at));
        if (candidates != null) {
            for (Entry e : candidates) {
                if (s.startsWith(e.text, at)) return e;
            }
        }
        return null;
    }
}
