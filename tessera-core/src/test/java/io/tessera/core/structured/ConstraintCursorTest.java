package io.tessera.core.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The cursor's mask on a small hand-made vocabulary, where every allowed and refused token is known. */
class ConstraintCursorTest {

    // 0 "a", 1 "b", 2 "ab", 3 "abc", 4 "c", 5 "" (a control token: the end token here), 6 "ca", 7 "a" again
    static final List<String> PIECES = List.of("a", "b", "ab", "abc", "c", "", "ca", "a");
    static final int END = 5;

    static TokenConstraint constraint(String regex) {
        byte[][] bytes = PIECES.stream().map(p -> p.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        return Constraints.compile(Constraints.regex(regex, "r"), new TokenVocabulary(bytes), "r");
    }

    /** Ids left finite by the mask over a row of {@code n} logits (n may exceed the vocabulary: padding). */
    static List<Integer> allowed(ConstraintCursor c, int n) {
        float[] logits = new float[n];
        Arrays.fill(logits, 1f);
        c.process(logits, n);
        return java.util.stream.IntStream.range(0, n).filter(i -> logits[i] == 1f).boxed().toList();
    }

    @Test
    void masksFollowTheText() {
        ConstraintCursor c = constraint("ab?c").start(new int[] {END});
        assertEquals(List.of(0, 2, 3, 7), allowed(c, 8));
        c.advance(2); // "ab"
        assertEquals(List.of(4), allowed(c, 8));
        assertFalse(c.accepting());
        c.advance(4); // "abc"
        assertTrue(c.complete(), "nothing can follow");
        assertEquals(List.of(END), allowed(c, 8), "only the end token once complete");
    }

    @Test
    void theEndTokenOnlyWhereTheTextIsComplete() {
        ConstraintCursor c = constraint("a+").start(new int[] {END});
        assertEquals(List.of(0, 7), allowed(c, 8));
        c.advance(0);
        assertTrue(c.accepting());
        assertFalse(c.complete(), "more a's may follow");
        assertEquals(List.of(0, END, 7), allowed(c, 8));
    }

    @Test
    void paddedRowsAndControlTokensAreNeverAllowed() {
        ConstraintCursor c = constraint("[abc]*").start(new int[0]);
        // most tokens allowed: the mask is kept as the refused ids; rows 8..11 have no token
        assertEquals(List.of(0, 1, 2, 3, 4, 6, 7), allowed(c, 12));
    }

    @Test
    void aTextNoTokenContinuesHasNoChoice() {
        ConstraintCursor c = constraint("ad|b").start(new int[0]);
        c.advance(0); // "a": only a 'd' may follow, and no token starts with one
        assertFalse(c.hasChoice());
        assertThrows(IllegalStateException.class, () -> c.advance(1));
        assertThrows(IllegalStateException.class, () -> constraint("b").start(new int[0]).advance(END));
    }
}
