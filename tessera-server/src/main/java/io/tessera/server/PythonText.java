package io.tessera.server;

/**
 * Python's notion of whitespace, for the string operations chat templates and
 * {@code apply_chat_template} perform: {@code str.strip()} without arguments removes the characters
 * {@code str.isspace()} accepts, a wider set than Java's {@link String#strip()} (it includes the
 * no-break spaces and U+0085).
 */
final class PythonText {
    private PythonText() {
    }

    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    static String strip(String s) {
        return rstrip(lstrip(s));
    }

    static String lstrip(String s) {
        int i = 0;
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return s.substring(i);
    }

    static String rstrip(String s) {
        int j = s.length();
        while (j > 0 && isSpace(s.charAt(j - 1))) {
            j--;
        }
        return s.substring(0, j);
    }
}
