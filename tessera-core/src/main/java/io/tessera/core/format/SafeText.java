package io.tessera.core.format;

/**
 * Makes text read from a file safe to print: a model file's metadata may hold terminal escape
 * sequences (ANSI colours, cursor moves, window titles) or Unicode direction overrides, which an
 * error message must show, not obey. Every message that carries file-derived text goes through
 * {@link #escape}.
 */
public final class SafeText {

    private SafeText() {
    }

    /**
     * The text with every control character written as an escape: {@code \n}, {@code \r},
     * {@code \t}, {@code \\xHH} for the other C0 and C1 controls and DEL, {@code \\uHHHH} for the
     * bidirectional formatting characters. A backslash stays a backslash; printable text is unchanged.
     */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        int i = 0;
        while (i < text.length() && !needsEscape(text.charAt(i))) {
            i++;
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length() + 16).append(text, 0, i);
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!needsEscape(c)) {
                sb.append(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x100) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        return sb.toString();
    }

    private static boolean needsEscape(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || isBidiControl(c);
    }

    /** Characters that reorder the text around them when displayed (embeddings, overrides, isolates, marks). */
    private static boolean isBidiControl(char c) {
        return (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') || c == '\u200e' || c == '\u200f'
                || c == '\u061c';
    }
}
