package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The stop-string automaton against a naive search, and the limits on stop strings. */
class StopMatcherTest {

    /** What a sample's text becomes: cut before the stop string that ends first (the longest of those). */
    record Outcome(String text, String matched) {
    }

    static Outcome naive(String text, List<String> stops) {
        for (int end = 1; end <= text.length(); end++) {
            String best = null;
            for (String s : stops) {
                if (s.length() <= end && text.startsWith(s, end - s.length())
                        && (best == null || s.length() > best.length())) {
                    best = s;
                }
            }
            if (best != null) {
                return new Outcome(text.substring(0, end - best.length()), best);
            }
        }
        return new Outcome(text, null);
    }

    static String randomText(Random r, String alphabet, int maxLen) {
        StringBuilder b = new StringBuilder();
        int len = r.nextInt(maxLen + 1);
        for (int i = 0; i < len; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    @Test
    void matchesANaiveSearchOnRandomTextsStopsAndChunkings() {
        Random r = new Random(20261206);
        String alphabet = "abcé ";
        int matches = 0;
        for (int trial = 0; trial < 3000; trial++) {
            List<String> stops = new ArrayList<>();
            int count = 1 + r.nextInt(12);
            while (stops.size() < count) {
                String s = randomText(r, alphabet, 5);
                if (!s.isEmpty()) {
                    stops.add(s);
                }
            }
            String text = randomText(r, alphabet, 60);
            Outcome want = naive(text, stops);
            StopMatcher m = new StopMatcher(stops);
            StringBuilder got = new StringBuilder();
            int at = 0;
            while (at < text.length() && m.matched() == null) {
                int len = Math.min(text.length() - at, r.nextInt(5)); // empty pushes too
                String chunk = text.substring(at, at + len);
                String released = m.push(chunk);
                got.append(released);
                at += len;
                // never releases text that a stop string could still begin with
                assertTrue(want.text().startsWith(got.toString()),
                        "released past the cut: " + got + " for " + stops + " in " + text);
            }
            if (m.matched() == null) {
                got.append(m.flush());
            } else {
                matches++;
                assertEquals("", m.push("more text"), "nothing after a match");
            }
            assertEquals(want, new Outcome(got.toString(), m.matched()), "stops " + stops + " in '" + text + "'");
        }
        assertTrue(matches > 500, "the trials exercise matches: " + matches);
    }

    @Test
    void heldBackTextIsExactlyWhatCouldBeginAStop() {
        StopMatcher m = new StopMatcher(List.of("abcd", "bc", "xyz"));
        assertEquals("", m.push("ab"));
        assertEquals("a", m.push("c")); // "bc" ends before "abcd" could
        assertEquals("bc", m.matched());
        StopMatcher held = new StopMatcher(List.of("xyz"));
        assertEquals("hello ", held.push("hello xy"));
        assertEquals("xy", held.flush());
    }

    @Test
    void manyStopStringsOfOneRequestShareOneAutomaton() {
        List<String> stops = new ArrayList<>();
        for (int i = 0; i < GenerateParams.MAX_STOP_STRINGS; i++) {
            stops.add("stop-" + i + "!");
        }
        Collections.shuffle(stops, new Random(1));
        StopStrings shared = new StopStrings(stops);
        StopMatcher a = new StopMatcher(shared);
        StopMatcher b = new StopMatcher(shared);
        assertEquals("once upon a time ", a.push("once upon a time stop-4"));
        assertEquals("", b.push("stop-1"));
        assertEquals("", a.push("2!"));
        assertEquals("stop-42!", a.matched());
        assertEquals("stop-1x", b.push("x"), "no stop string begins with 'stop-1x'");
        assertEquals("", b.push("stop-"));
        assertEquals("stop-", b.flush());
    }

    @Test
    void stopListsOverTheLimitsAreRefusedNamingTheField() {
        GenerateParams base = GenerateParams.greedy(4);
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i <= GenerateParams.MAX_STOP_STRINGS; i++) {
            tooMany.add("s" + i);
        }
        IllegalArgumentException many = assertThrows(IllegalArgumentException.class, () -> base.withStop(tooMany));
        assertTrue(many.getMessage().startsWith("stop may hold at most 64 strings"), many.getMessage());
        List<String> tooLong = List.of("x".repeat(GenerateParams.MAX_STOP_CHARS / 2),
                "y".repeat(GenerateParams.MAX_STOP_CHARS / 2 + 1));
        IllegalArgumentException chars = assertThrows(IllegalArgumentException.class, () -> base.withStop(tooLong));
        assertTrue(chars.getMessage().contains("at most 4096 characters in total"), chars.getMessage());
        int[] ids = new int[GenerateParams.MAX_STOP_TOKEN_IDS + 1];
        IllegalArgumentException tokens = assertThrows(IllegalArgumentException.class,
                () -> base.withStopTokenIds(ids));
        assertTrue(tokens.getMessage().startsWith("stop_token_ids may hold at most"), tokens.getMessage());
        // at the limits, accepted
        base.withStop(tooMany.subList(0, GenerateParams.MAX_STOP_STRINGS));
        base.withStop(List.of("x".repeat(GenerateParams.MAX_STOP_CHARS)));
        new GenerateParams(SamplingParams.greedy(), 4, 1, new int[GenerateParams.MAX_STOP_TOKEN_IDS], null, false, -1);
    }
}
