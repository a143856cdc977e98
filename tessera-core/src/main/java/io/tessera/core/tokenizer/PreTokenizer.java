package io.tessera.core.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenization step of a Hugging Face tokenizer pipeline ({@code "pre_tokenizer"} in
 * tokenizer.json): cuts text into the pieces ("words") that the model encodes one by one.
 *
 * <p>Each piece carries whether it starts at the very beginning of the input text, which is what
 * Metaspace's {@code prepend_scheme: first} looks at.
 */
sealed interface PreTokenizer {

    void split(String text, boolean atStart, Sink out);

    /** Receives the pieces in order. */
    @FunctionalInterface
    interface Sink {
        void accept(String piece, boolean atStart);
    }

    /** Hugging Face's {@code SplitDelimiterBehavior}: what becomes of the matched text. */
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior parse(String name) {
            return switch (name) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw new IllegalArgumentException("split behavior '" + name + "' is not one of Removed, "
                        + "Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
            };
        }
    }

    /** What a split looks for: a regex, or single characters with a property. */
    sealed interface Finder {
        /** Spans covering the whole text in order, each {start, end, 1 if matched else 0}. */
        Spans find(String text);
    }

    record RegexFinder(Pattern pattern) implements Finder {
        @Override
        public Spans find(String text) {
            Spans spans = new Spans();
            if (text.isEmpty()) {
                spans.add(0, 0, false);
                return spans;
            }
            Matcher m = pattern.matcher(text);
            int prev = 0;
            while (m.find()) {
                if (prev != m.start()) spans.add(prev, m.start(), false);
                spans.add(m.start(), m.end(), true);
                prev = m.end();
            }
            if (prev != text.length()) spans.add(prev, text.length(), false);
            return spans;
        }
    }

    /** Each character with the property is a match of its own. */
    record CharFinder(java.util.function.IntPredicate matches) implements Finder {
        @Override
        public Spans find(String text) {
            Spans spans = new Spans();
            if (text.isEmpty()) {
                spans.add(0, 0, false);
                return spans;
            }
            int last = 0;
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                int end = i + Character.charCount(cp);
                if (matches.test(cp)) {
                    if (last < i) spans.add(last, i, false);
                    spans.add(i, end, true);
                    last = end;
                }
                i = end;
            }
            if (text.length() > last) spans.add(last, text.length(), false);
            return spans;
        }
    }

    /** A growable list of {start, end, flag} triples. */
    final class Spans {
        int[] data = new int[24];
        int size;

        void add(int start, int end, boolean flag) {
            if (size + 3 > data.length) data = java.util.Arrays.copyOf(data, data.length * 2);
            data[size++] = start;
            data[size++] = end;
            data[size++] = flag ? 1 : 0;
        }

        int count() { return size / 3; }
        int start(int i) { return data[3 * i]; }
        int end(int i) { return data[3 * i + 1]; }
        boolean flag(int i) { return data[3 * i + 2] != 0; }
        void setStart(int i, int v) { data[3 * i] = v; }
        void setEnd(int i, int v) { data[3 * i + 1] = v; }
    }

    /**
     * Cuts text at the finder's matches; {@code invert} swaps matches and the text between them.
     * The behaviors follow Hugging Face's {@code NormalizedString::split}; empty pieces are dropped.
     */
    record Split(Finder finder, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, boolean atStart, Sink out) {
            Spans found = finder.find(text);
            int n = found.count();
            Spans pieces = new Spans(); // flag = remove
            switch (behavior) {
                case ISOLATED -> {
                    for (int i = 0; i < n; i++) pieces.add(found.start(i), found.end(i), false);
                }
                case REMOVED -> {
                    for (int i = 0; i < n; i++) pieces.add(found.start(i), found.end(i), found.flag(i) != invert);
                }
                case CONTIGUOUS -> {
                    boolean previous = false;
                    for (int i = 0; i < n; i++) {
                        boolean match = found.flag(i) != invert;
                        if (match == previous && pieces.count() > 0) {
                            pieces.setEnd(pieces.count() - 1, found.end(i));
                        } else {
                            pieces.add(found.start(i), found.end(i), false);
                        }
                        previous = match;
                    }
                }
                case MERGED_WITH_PREVIOUS -> {
                    boolean previous = false;
                    for (int i = 0; i < n; i++) {
                        boolean match = found.flag(i) != invert;
                        if (match && !previous && pieces.count() > 0) {
                            pieces.setEnd(pieces.count() - 1, found.end(i));
                        } else {
                            pieces.add(found.start(i), found.end(i), false);
                        }
                        previous = match;
                    }
                }
                case MERGED_WITH_NEXT -> {
                    // Built back to front, then emitted in reverse.
                    boolean previous = false;
                    for (int i = n - 1; i >= 0; i--) {
                        boolean match = found.flag(i) != invert;
                        if (match && !previous && pieces.count() > 0) {
                            pieces.setStart(pieces.count() - 1, found.start(i));
                        } else {
                            pieces.add(found.start(i), found.end(i), false);
                        }
                        previous = match;
                    }
                    for (int i = pieces.count() - 1; i >= 0; i--) emit(text, atStart, pieces, i, out);
                    return;
                }
            }
            for (int i = 0; i < pieces.count(); i++) emit(text, atStart, pieces, i, out);
        }

        private static void emit(String text, boolean atStart, Spans pieces, int i, Sink out) {
            int start = pieces.start(i);
            int end = pieces.end(i);
            if (!pieces.flag(i) && end > start) {
                out.accept(text.substring(start, end), atStart && start == 0);
            }
        }
    }

    /**
     * GPT-2's byte-level step: optionally a space before the text, optionally GPT-2's own split,
     * then every UTF-8 byte written as its {@link ByteLevelAlphabet} character.
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        static final Split GPT2_SPLIT = new Split(new RegexFinder(OnigPattern.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")),
                Behavior.ISOLATED, false);

        @Override
        public void split(String text, boolean atStart, Sink out) {
            String t = addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
            if (useRegex) {
                GPT2_SPLIT.split(t, atStart, (piece, first) -> out.accept(ByteLevelAlphabet.encode(piece), first));
            } else if (!t.isEmpty()) {
                out.accept(ByteLevelAlphabet.encode(t), atStart);
            }
        }
    }

    /** Prepend scheme of Metaspace: where the replacement character is put before a piece. */
    enum Prepend { ALWAYS, FIRST, NEVER }

    /**
     * SentencePiece's spaces: ' ' becomes {@code replacement} (U+2581), which is also put before the
     * piece as {@code prepend} says, and optionally the text is cut before each replacement.
     */
    record Metaspace(char replacement, Prepend prepend, boolean splitOnReplacement) implements PreTokenizer {
        @Override
        public void split(String text, boolean atStart, Sink out) {
            String t = text.replace(' ', replacement);
            boolean add = switch (prepend) {
                case ALWAYS -> true;
                case FIRST -> atStart;
                case NEVER -> false;
            };
            if (add && !t.isEmpty() && t.charAt(0) != replacement) {
                t = replacement + t;
            }
            if (splitOnReplacement) {
                new Split(new CharFinder(c -> c == replacement), Behavior.MERGED_WITH_NEXT, false).split(t, atStart, out);
            } else if (!t.isEmpty()) {
                out.accept(t, atStart);
            }
        }
    }

    /** Applies its steps in order, each to every piece the previous one produced. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(String text, boolean atStart, Sink out) {
            split(0, text, atStart, out);
        }

        private void split(int step, String text, boolean atStart, Sink out) {
            if (step == steps.size()) {
                out.accept(text, atStart);
            } else {
                steps.get(step).split(text, atStart, (piece, first) -> split(step + 1, piece, first, out));
            }
        }
    }
}
