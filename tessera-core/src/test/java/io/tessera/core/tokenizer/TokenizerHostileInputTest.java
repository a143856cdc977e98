package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Text built to hurt a tokenizer: long runs that one regex alternative or one BPE word must
 * swallow whole, thousands of special-token strings, lone surrogates. Each must encode in bounded
 * time (a generous limit: it fails on quadratic behaviour, not on a slow machine) and decode back.
 */
class TokenizerHostileInputTest {
    private static final int LENGTH = 200_000;
    private static final Duration LIMIT = Duration.ofSeconds(60);
    static BpeTokenizer llama3;
    static BpeTokenizer llama2;

    @BeforeAll
    static void load() throws IOException {
        llama3 = TokenizerJson.readDirectory(NpmTokenizers.llama3());
        llama2 = TokenizerJson.readDirectory(NpmTokenizers.llama2());
    }

    @Test
    void longRunsEncodeAndRoundTrip() {
        List<String> runs = List.of(" ".repeat(LENGTH), "\n".repeat(LENGTH), " \n".repeat(LENGTH / 2),
                "a".repeat(LENGTH), "9".repeat(LENGTH), "'".repeat(LENGTH), "😀".repeat(LENGTH / 2),
                "日".repeat(LENGTH), "\t ".repeat(LENGTH / 2), "e\u0301".repeat(LENGTH / 2), "'s".repeat(LENGTH / 2));
        for (String run : runs) {
            for (BpeTokenizer tok : List.of(llama3, llama2)) {
                int[] ids = assertTimeoutPreemptively(LIMIT, () -> tok.encode(run, false, true),
                        () -> "encoding a run of " + run.substring(0, 2));
                assertTrue(ids.length > 0);
                assertEquals(run, tok.decode(ids), "run of " + run.substring(0, 2));
            }
        }
    }

    @Test
    void thousandsOfSpecialTokenStringsStayLinear() {
        String text = "<|eot_id|>  x ".repeat(LENGTH / 8);
        int[] parsed = assertTimeoutPreemptively(LIMIT, () -> llama3.encode(text, false, true));
        int eot = llama3.id("<|eot_id|>");
        assertEquals(LENGTH / 8, java.util.Arrays.stream(parsed).filter(id -> id == eot).count());
        int[] plain = assertTimeoutPreemptively(LIMIT, () -> llama3.encode(text, false, false));
        assertTrue(java.util.Arrays.stream(plain).noneMatch(id -> id == eot), "not parsed when parseSpecial is off");
        assertEquals(text, llama3.decode(plain));
    }

    @Test
    void loneSurrogatesDoNotBreakEncoding() {
        // A Java string can hold what UTF-8 cannot: each lone surrogate encodes as '?', as String.getBytes does.
        String text = "a\uD800b\uDC00c";
        assertEquals("a?b?c", llama3.decode(llama3.encode(text, false, true)));
        assertEquals("a?b?c".length(), llama2.decode(llama2.encode(text, false, true)).length());
    }
}
