package io.tessera.core.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Finds added tokens in text the way Hugging Face's {@code AddedVocabulary::find_matches} does:
 * leftmost-longest matches, scanning on after each; a {@code single_word} token next to a word
 * character is passed over; {@code lstrip}/{@code rstrip} widen a match over adjacent white
 * space (never back into the previous match).
 */
final class AddedTokenMatcher {
    private static final Pattern WORD_AT_START = Pattern.compile("^\\w", Pattern.UNICODE_CHARACTER_CLASS);
    // \z, not $: Java's $ also matches before a final line break, Rust's only at the very end.
    private static final Pattern WORD_AT_END = Pattern.compile("\\w\\z", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPACE_AT_START = Pattern.compile("^\\s*", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SPACE_AT_END = Pattern.compile("\\s*\\z", Pattern.UNICODE_CHARACTER_CLASS);

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
                boolean spaceBefore = start == 0 || !WORD_AT_END.matcher(s.substring(0, start)).find();
                boolean spaceAfter = stop == n || !WORD_AT_START.matcher(s.substring(stop)).find();
                if (!spaceBefore || !spaceAfter) continue;
            }
            if (t.lstrip()) {
                var m = SPACE_AT_END.matcher(s.substring(0, start));
                int newStart = m.find() ? m.start() : start;
                start = Math.max(newStart, startOffset);
            }
            if (t.rstrip()) {
                var m = SPACE_AT_START.matcher(s.substring(stop));
                if (m.find()) stop += m.end();
            }
            if (startOffset < start) out.text(s.substring(startOffset, start), startOffset);
            out.token(t);
            startOffset = stop;
        }
        if (startOffset < n) out.text(s.substring(startOffset), startOffset);
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
