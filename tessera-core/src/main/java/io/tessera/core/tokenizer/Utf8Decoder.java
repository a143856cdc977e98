package io.tessera.core.tokenizer;

/**
 * An incremental UTF-8 decoder. Incomplete sequences are held until they complete; each invalid
 * sequence becomes one U+FFFD as soon as it is certain to be invalid (one per maximal subpart,
 * the Unicode-recommended practice). Decoding a whole array and decoding it in pieces give the
 * same text, which is what makes streaming output equal to a full decode.
 */
final class Utf8Decoder {
    private static final char REPLACEMENT = '\uFFFD';

    private int needed;     // continuation bytes still expected
    private int codePoint;  // bits gathered so far
    private int lower = 0x80;
    private int upper = 0xBF;

    void feed(byte[] bytes, StringBuilder out) {
        for (byte b : bytes) {
            feed(b & 0xFF, out);
        }
    }

    void feed(int b, StringBuilder out) {
        if (needed > 0) {
            if (b >= lower && b <= upper) {
                codePoint = (codePoint << 6) | (b & 0x3F);
                lower = 0x80;
                upper = 0xBF;
                if (--needed == 0) {
                    out.appendCodePoint(codePoint);
                }
                return;
            }
            // The sequence cannot complete: replace what was gathered, then read b afresh.
            out.append(REPLACEMENT);
            needed = 0;
        }
        if (b < 0x80) {
            out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            start(1, b & 0x1F, 0x80, 0xBF);
        } else if (b >= 0xE0 && b <= 0xEF) {
            // E0 excludes overlong forms, ED excludes UTF-16 surrogates.
            start(2, b & 0x0F, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF);
        } else if (b >= 0xF0 && b <= 0xF4) {
            // F0 excludes overlong forms, F4 caps at U+10FFFF.
            start(3, b & 0x07, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF);
        } else {
            out.append(REPLACEMENT);
        }
    }

    private void start(int needed, int bits, int lower, int upper) {
        this.needed = needed;
        this.codePoint = bits;
        this.lower = lower;
        this.upper = upper;
    }

    /** Ends the input: a sequence still incomplete becomes U+FFFD. */
    void finish(StringBuilder out) {
        if (needed > 0) {
            out.append(REPLACEMENT);
            needed = 0;
            lower = 0x80;
            upper = 0xBF;
        }
    }

    boolean hasPending() {
        return needed > 0;
    }
}
