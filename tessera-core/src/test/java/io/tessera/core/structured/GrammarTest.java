package io.tessera.core.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The automata themselves: regexes agree with java.util.regex, schemas accept and refuse the right texts, limits hold. */
class GrammarTest {

    static final ObjectMapper JSON = new ObjectMapper();

    static Dfa dfa(Rx rx) {
        return Dfa.compile(rx, Constraints.MAX_NFA_STATES, Constraints.MAX_DFA_STATES);
    }

    static boolean matches(Dfa d, String s) {
        return d.matches(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void regexesAgreeWithJavaOnRandomTexts() {
        List<String> regexes = List.of("a(b|c)*d?", "[a-c]{2,3}|x+", "(ab|a)(bc|c)?", "[^ab]*b", "a{0,2}b{1,}",
                "\\d\\w?\\s*", "(a|b|)c", "[a\\-c]+", "x.y", "(?:ab)+(?<n>c)?", "é[à-ä]?", "[\\u0041-\\u0043]+");
        SplittableRandom r = new SplittableRandom(3);
        String alphabet = "abcdx -y1é\u00e0\u00e2AB\n";
        for (String regex : regexes) {
            Dfa d = dfa(Constraints.regex(regex, "guided_regex"));
            Pattern p = Pattern.compile(regex);
            for (int i = 0; i < 400; i++) {
                StringBuilder sb = new StringBuilder();
                int len = r.nextInt(6);
                for (int k = 0; k < len; k++) {
                    sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
                }
                String s = sb.toString();
                assertEquals(p.matcher(s).matches(), matches(d, s), regex + " on '" + s + "'");
            }
        }
    }

    @Test
    void schemaAcceptsValidAndRefusesInvalid() throws Exception {
        JsonNode schema = JSON.readTree("""
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":3},
                 "c":{"type":"array","items":{"type":"boolean"},"maxItems":2}},"required":["a"],
                 "additionalProperties":false}""");
        Dfa d = dfa(Constraints.jsonSchema(schema, "s"));
        for (String ok : List.of("{\"a\":1}", "{\"a\": -20, \"b\": \"xyz\"}", "{\"a\":0,\"c\":[true, false]}",
                "{\"a\":5,\"b\":\"\\u00e9\",\"c\":[]}", "{\"a\":1,\"b\":\"\\\"\"}")) {
            assertTrue(matches(d, ok), ok);
        }
        for (String bad : List.of("{}", "{\"b\":\"x\"}", "{\"a\":1.5}", "{\"a\":01}", "{\"a\":1,\"b\":\"abcd\"}",
                "{\"a\":1,\"c\":[true,true,true]}", "{\"a\":1,\"d\":2}", "{\"b\":\"x\",\"a\":1}", "{\"a\":1,}")) {
            assertFalse(matches(d, bad), bad);
        }
        Dfa any = dfa(Constraints.jsonObject());
        assertTrue(matches(any, "{\"k\": [1, {\"x\": null}, \"s\"], \"t\": -0.5e+3}"));
        assertFalse(matches(any, "[1]"));
        assertFalse(matches(any, "{\"k\": tru}"));
    }

    @Test
    void hostileInputsStopAtTheLimitsQuickly() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            // the classic exponential DFA: the n-th last character is an 'a'
            ConstraintException e = assertThrows(ConstraintException.class,
                    () -> dfa(Constraints.regex("(a|b)*a(a|b){16}", "guided_regex")));
            assertTrue(e.getMessage().contains("too complex"), e.getMessage());
            // nesting past the schema depth limit
            String deep = "{\"type\":\"array\",\"items\":".repeat(40) + "{}" + "}".repeat(40);
            e = assertThrows(ConstraintException.class, () -> Constraints.jsonSchema(JSON.readTree(deep), "s"));
            assertTrue(e.getMessage().contains("levels deep"), e.getMessage());
            // references doubling at every level
            StringBuilder defs = new StringBuilder("{\"$defs\":{");
            for (int i = 0; i < 14; i++) {
                defs.append("\"d").append(i).append("\":{\"anyOf\":[{\"$ref\":\"#/$defs/d").append(i + 1)
                        .append("\"},{\"$ref\":\"#/$defs/d").append(i + 1).append("\"}]},");
            }
            defs.append("\"d14\":{\"type\":\"null\"}},\"$ref\":\"#/$defs/d0\"}");
            e = assertThrows(ConstraintException.class, () -> Constraints.jsonSchema(JSON.readTree(defs.toString()),
                    "s"));
            assertTrue(e.getMessage().contains("subschemas"), e.getMessage());
            // a large bounded repetition inside another
            e = assertThrows(ConstraintException.class, () -> dfa(Constraints.regex("(a{1000}){1000}", "r")));
            assertTrue(e.getMessage().contains("too complex"), e.getMessage());
        });
    }

    @Test
    void emptyLanguagesAreRefused() {
        assertThrows(ConstraintException.class, () -> dfa(Constraints.regex("[^\\s\\S]", "r")));
    }
}
