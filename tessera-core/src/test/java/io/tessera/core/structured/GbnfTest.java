package io.tessera.core.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GBNF grammars: texts generated under them over the real Llama 3 vocabulary (random logits
 * through the sampler and the mask, as the engine samples) parse with an independent checker
 * (Jackson for the JSON grammar, this test's own recursive-descent parsers for the others); the
 * automaton accepts and refuses the right texts; malformed grammars are refused with a message
 * naming the problem, quickly.
 */
class GbnfTest {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** JSON (RFC 8259 values) with bounded runs of whitespace. */
    static final String JSON_GRAMMAR = """
            # any JSON value
            root   ::= ws value ws
            value  ::= object | array | string | number | "true" | "false" | "null"
            object ::= "{" ws ( member ( "," ws member )* )? "}"
            member ::= string ws ":" ws value ws
            array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
            string ::= "\\"" (
                  [^"\\\\\\x00-\\x1F]
                | "\\\\" ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} )
              )* "\\""
            number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
            ws     ::= [ \\t\\n]{0,6}
            """;

    /** Arithmetic over integers with parentheses: recursive through a group. */
    static final String ARITHMETIC = """
            root ::= expr
            expr ::= term (("+" | "-") term)*
            term ::= factor (("*" | "/") factor)*
            factor ::= [0-9]{1,3} | "(" expr ")" | "-" factor
            """;

    /** Balanced brackets of two kinds. */
    static final String BRACKETS = """
            root ::= seq
            seq ::= ( "(" seq ")" | "[" seq "]" | [a-z] )*
            """;

    static Tokenizer llama3;
    static TokenVocabulary vocabulary;

    @BeforeAll
    static void load() throws Exception {
        llama3 = Tokenizers.open(NpmTokenizers.llama3());
        vocabulary = TokenVocabulary.of(llama3);
    }

    static TokenConstraint compile(String grammar) {
        return Constraints.grammar(grammar, vocabulary, "grammar");
    }

    static boolean accepts(ByteAutomaton a, String text) {
        int s = a.start();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = a.next(s, b);
            if (s == ByteAutomaton.DEAD) {
                return false;
            }
        }
        return a.accepting(s);
    }

    @Test
    void jsonGrammarOutputsParseAsJson() throws Exception {
        // any value, and the same grammar with a container at the top so that members and items nest
        String containers = JSON_GRAMMAR.replace("root   ::= ws value ws", "root   ::= ws ( object | array ) ws");
        for (String grammar : List.of(JSON_GRAMMAR, containers)) {
            TokenConstraint c = compile(grammar);
            assertInstanceOf(PushdownAutomaton.class, c.automaton());
            for (long seed = 0; seed < 16; seed++) {
                ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed, seed < 6 ? 10 : 80);
                assertTrue(w.ended, "seed " + seed + " did not end: " + w.text);
                JsonNode value = JSON.readTree(w.text); // throws on anything that is not one JSON value
                assertFalse(value.isMissingNode(), "'" + w.text + "'");
                if (grammar == containers) {
                    assertTrue(value.isContainerNode(), w.text);
                }
            }
        }
    }

    @Test
    void recursiveGrammarsParseWithTheirOwnParsers() {
        TokenConstraint arithmetic = compile(ARITHMETIC);
        TokenConstraint brackets = compile(BRACKETS);
        int withParens = 0;
        for (long seed = 0; seed < 20; seed++) {
            ConstrainedWalk a = ConstrainedWalk.run(arithmetic, llama3.eos(), seed, 30);
            assertTrue(a.ended && new Arithmetic(a.text).parses(), "arithmetic seed " + seed + ": '" + a.text + "'");
            withParens += a.text.contains("(") ? 1 : 0;
            ConstrainedWalk b = ConstrainedWalk.run(brackets, llama3.eos(), seed, 30);
            assertTrue(b.ended && balanced(b.text), "brackets seed " + seed + ": '" + b.text + "'");
        }
        assertTrue(withParens > 0, "some expression has a group");
    }

    @Test
    void automatonAcceptsTheLanguageAndNothingElse() {
        ByteAutomaton json = compile(JSON_GRAMMAR).automaton();
        for (String ok : List.of("{}", "[]", " 0 ", "-1.5e+3", "\"\\u00e9\\n\"", "{\"a\": [1, {\"b\": null}]}",
                "[[[[[[[[[[true]]]]]]]]]]", "\"é😀\"", "{\"k\":\"v\",\"l\":[false]}")) {
            assertTrue(accepts(json, ok), ok);
        }
        for (String bad : List.of("", "{", "[1,]", "01", "{\"a\"}", "[1 2]", "\"\\x\"", "{'a':1}", "[]]", "tru",
                "\"a\u0001\"")) {
            assertFalse(accepts(json, bad), bad);
        }
        ByteAutomaton arithmetic = compile(ARITHMETIC).automaton();
        for (String ok : List.of("1", "1+2*3", "((1))", "-(2-3)/4", "(1+(2*(3-(4))))")) {
            assertTrue(accepts(arithmetic, ok), ok);
        }
        for (String bad : List.of("", "()", "1+", "(1", "1)", "1234", "1**2")) {
            assertFalse(accepts(arithmetic, bad), bad);
        }
    }

    @Test
    void regularGrammarsBecomeADfaThatAgreesWithTheRegex() {
        String grammar = """
                root ::= greeting ", " name "!"?
                greeting ::= "hello" | "hi" # a comment
                name ::= [A-Z] [a-z]{1,5}
                """;
        TokenConstraint c = compile(grammar);
        assertInstanceOf(Dfa.class, c.automaton());
        Pattern p = Pattern.compile("(hello|hi), [A-Z][a-z]{1,5}!?");
        for (String s : List.of("hello, Bob", "hi, Al!", "hi, al", "hello, B", "hey, Bob", "hi, Abcdefg")) {
            assertEquals(p.matcher(s).matches(), accepts(c.automaton(), s), s);
        }
        for (long seed = 0; seed < 6; seed++) {
            ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed, 6);
            assertTrue(w.ended && p.matcher(w.text).matches(), w.text);
        }
    }

    @Test
    void escapesClassesAndRepetitions() {
        Map<String, List<String>> cases = Map.of(
                "root ::= \"\\x41\\u00e9\\U0001F600\\t\\\"\\\\\\[\\]\"", List.of("Aé😀\t\"\\[]"),
                "root ::= [^a-y\\n]+", List.of("z", "Z!é"),
                "root ::= (\"ab\"){2} \"c\"{1,} \"d\"{0,2} \"e\"{2,3}", List.of("ababcdee", "ababcccddeee"),
                "root ::= . [\\x00-\\x1F]?", List.of("x", "é\n"),
                "root ::= a\na ::= (\n  \"x\" |\n  \"y\"\n) # split over lines inside parentheses", List.of("x", "y"));
        for (Map.Entry<String, List<String>> e : cases.entrySet()) {
            ByteAutomaton a = compile(e.getKey()).automaton();
            for (String ok : e.getValue()) {
                assertTrue(accepts(a, ok), e.getKey() + " on " + ok);
            }
        }
        ByteAutomaton negated = compile("root ::= [^a-y\\n]+").automaton();
        assertFalse(accepts(negated, "a"));
        assertFalse(accepts(negated, "\n"));
        ByteAutomaton counted = compile("root ::= (\"ab\"){2} \"c\"{1,} \"d\"{0,2} \"e\"{2,3}").automaton();
        assertFalse(accepts(counted, "abcee"));
        assertFalse(accepts(counted, "ababcdddee"));
        assertFalse(accepts(counted, "ababceeee"));
    }

    @Test
    void nestingBeyondTheStackLimitIsCut() {
        ByteAutomaton json = compile(JSON_GRAMMAR).automaton();
        int deep = 100;
        assertTrue(accepts(json, "[".repeat(deep) + "]".repeat(deep)));
        // each array level holds one frame (array's call of value; value's call of array is a tail
        // call): past the limit the next '[' is refused
        int tooDeep = PushdownAutomaton.MAX_STACK_DEPTH + 10;
        assertFalse(accepts(json, "[".repeat(tooDeep) + "]".repeat(tooDeep)));
    }

    @Test
    void rightRecursionRunsInConstantStack() {
        ByteAutomaton letters = compile("root ::= chars\nchars ::= [a-z] chars | \"\"").automaton();
        ByteAutomaton list = compile("root ::= \"(\" list \")\"\nlist ::= [0-9] (\",\" list)?").automaton();
        String many = "x".repeat(5 * PushdownAutomaton.MAX_STACK_DEPTH);
        assertTrue(accepts(letters, many));
        assertTrue(accepts(letters, ""));
        assertFalse(accepts(letters, many + "1"));
        String items = "(" + "1,".repeat(5 * PushdownAutomaton.MAX_STACK_DEPTH) + "2)";
        assertTrue(accepts(list, items));
        assertFalse(accepts(list, "(1,)"));
        assertFalse(accepts(list, "(1,2"));
        assertTrue(list.size() < 50, "configurations do not grow with the length: " + list.size());
    }

    static void refused(String grammar, String expected) {
        ConstraintException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(ConstraintException.class, () -> compile(grammar), grammar));
        assertTrue(e.getMessage().startsWith("grammar: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "'" + expected + "' not in: " + e.getMessage());
    }

    @Test
    void malformedGrammarsAreRefusedByName() {
        refused("", "the grammar is empty");
        refused("  # only a comment\n", "the grammar is empty");
        refused("start ::= \"a\"", "no 'root' rule");
        refused("root ::= greeting\n", "rule 'greeting' is used at line 1, column 10 but never defined");
        refused("root ::= (\"a\" | \"b\"", "unbalanced '('");
        refused("root ::= \"a\")", "unbalanced ')'");
        refused("root ::= \"\\q\"", "unknown escape '\\q'");
        refused("root ::= \"\\x4\"", "hexadecimal digits");
        refused("root ::= \"\\UFFFFFFFF\"", "is not a character");
        refused("root ::= \"\\uD800\"", "is not a character");
        refused("root ::= \"abc", "unterminated string literal");
        refused("root ::= [abc", "unterminated character class");
        refused("root ::= [z-a]", "out of order");
        refused("root ::= * \"a\"", "nothing before it to repeat");
        refused("root ::= \"a\"{3,2}", "maximum below its minimum");
        refused("root ::= \"a\"{2", "expected '}'");
        refused("root ::= \"a\"{5000}", "above 1000");
        refused("root ::= \"a\"****", "repetition operators in a row");
        refused("root = \"a\"", "expected '::='");
        refused("root ::= \"a\"\nroot ::= \"b\"", "defined twice");
        refused("root ::= <think>", "token references");
        refused("root ::= \"a\" ; \"b\"", "unexpected ';'");
        refused("root ::= " + "(".repeat(100) + "\"a\"" + ")".repeat(100), "nest more than 64");
        refused("root ::= expr\nexpr ::= expr \"+\" num | num\nnum ::= [0-9]", "rule 'expr' is left-recursive");
        refused("root ::= a\na ::= b \"x\" | \"y\"\nb ::= opt a\nopt ::= \"z\"?", "is left-recursive");
        refused("root ::= \"a\" root", "admits no text at all");
        refused("root ::= [^\\x00-\\U0010FFFF]", "admits no output");
    }

    @Test
    void hugeGrammarsStopAtTheLimits() {
        StringBuilder many = new StringBuilder("root ::= r0\n");
        for (int i = 0; i < Gbnf.MAX_RULES + 1; i++) {
            many.append("r").append(i).append(" ::= \"x\"\n");
        }
        refused(many.toString(), "more than " + Gbnf.MAX_RULES + " rules");
        // each rule doubles the text: the expansion runs into the automaton's state limit
        StringBuilder doubling = new StringBuilder("root ::= d0\n");
        for (int i = 0; i < 40; i++) {
            doubling.append("d").append(i).append(" ::= d").append(i + 1).append(" d").append(i + 1).append('\n');
        }
        doubling.append("d40 ::= \"ab\"\n");
        refused(doubling.toString(), "too complex");
        // a chain of rules deeper than the expansion limit
        StringBuilder chain = new StringBuilder("root ::= c0\n");
        for (int i = 0; i < 1000; i++) {
            chain.append("c").append(i).append(" ::= \"a\" (c").append(i + 1).append(")\n");
        }
        chain.append("c1000 ::= \"z\"\n");
        refused(chain.toString(), "levels deep");
    }

    /** Balanced brackets of both kinds around lowercase letters. */
    static boolean balanced(String s) {
        ArrayDeque<Character> open = new ArrayDeque<>();
        for (char c : s.toCharArray()) {
            if (c == '(' || c == '[') {
                open.push(c);
            } else if (c == ')' || c == ']') {
                if (open.isEmpty() || open.pop() != (c == ')' ? '(' : '[')) {
                    return false;
                }
            } else if (c < 'a' || c > 'z') {
                return false;
            }
        }
        return open.isEmpty();
    }

    /** A recursive-descent parser of {@link #ARITHMETIC}, written apart from the grammar code. */
    static final class Arithmetic {
        private final String s;
        private int i;

        Arithmetic(String s) {
            this.s = s;
        }

        boolean parses() {
            return expr() && i == s.length();
        }

        private boolean expr() {
            if (!term()) {
                return false;
            }
            while (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
                if (!term()) {
                    return false;
                }
            }
            return true;
        }

        private boolean term() {
            if (!factor()) {
                return false;
            }
            while (i < s.length() && (s.charAt(i) == '*' || s.charAt(i) == '/')) {
                i++;
                if (!factor()) {
                    return false;
                }
            }
            return true;
        }

        private boolean factor() {
            if (i < s.length() && s.charAt(i) == '(') {
                i++;
                if (!expr() || i >= s.length() || s.charAt(i) != ')') {
                    return false;
                }
                i++;
                return true;
            }
            if (i < s.length() && s.charAt(i) == '-') {
                i++;
                return factor();
            }
            int start = i;
            while (i < s.length() && Character.isDigit(s.charAt(i)) && i - start < 3) {
                i++;
            }
            return i > start && (i >= s.length() || !Character.isDigit(s.charAt(i)));
        }
    }
}
