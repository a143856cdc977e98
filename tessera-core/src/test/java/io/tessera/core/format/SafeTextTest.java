package io.tessera.core.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Control characters from files are shown, never obeyed; printable text is left as it is. */
class SafeTextTest {

    @Test
    void printableTextIsUnchanged() {
        String s = "llama.rope.freq_base ▁héllo 日本 \\x1b";
        assertSame(s, SafeText.escape(s));
    }

    @Test
    void controlCharactersAreEscaped() {
        assertEquals("\\x1b[31mred\\x1b[0m", SafeText.escape("\u001b[31mred\u001b[0m"));
        assertEquals("a\\nb\\rc\\td\\x00e\\x7ff\\x9bg", SafeText.escape("a\nb\rc\td\u0000e\u007ff\u009bg"));
        assertEquals("abc\\u202edcba\\u2066x\\u2069", SafeText.escape("abc\u202edcba\u2066x\u2069"));
        assertEquals("null", SafeText.escape(null));
    }

    @Test
    void modelFormatExceptionEscapesFileFieldAndReason() {
        ModelFormatException e = new ModelFormatException(Path.of("a\u001b.gguf"), "key '\u0007'", "value '\u001b]0;x'");
        assertEquals("a\\x1b.gguf: key '\\x07': value '\\x1b]0;x'", e.getMessage());
        assertEquals("key '\\x07'", e.field());
        assertEquals("value '\\x1b]0;x'", e.reason());
    }
}
