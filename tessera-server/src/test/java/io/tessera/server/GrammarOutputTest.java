package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GBNF grammars over real HTTP on stories260K (a real model, vocabulary 512), stated as
 * llama.cpp's server takes them ({@code grammar}) and as vLLM does ({@code guided_grammar},
 * {@code structured_outputs.grammar}): every finished output parses with an independent checker
 * (Jackson; a recursive-descent parser), also streamed and with n > 1; malformed grammars are 400s
 * naming the field and the problem.
 */
class GrammarOutputTest {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** JSON with short strings and numbers, so that a real model's text ends within max_tokens. */
    static final String SMALL_JSON = """
            root   ::= object
            value  ::= object | array | string | number | "true" | "false" | "null"
            object ::= "{" ( member ( ", " member ){0,3} )? "}"
            member ::= string ": " value
            array  ::= "[" ( value ( ", " value ){0,3} )? "]"
            string ::= "\\"" [a-zA-Z ]{1,10} "\\""
            number ::= "-"? [0-9]{1,4}
            """;

    /** Sums and products of small numbers with parentheses. */
    static final String ARITHMETIC = """
            root ::= expr
            expr ::= term ("+" term){0,3}
            term ::= factor ("*" factor){0,2}
            factor ::= [0-9] | "(" expr ")"
            """;

    static TestServer ts;
    static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults());
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (ts != null) {
            ts.close();
        }
    }

    static HttpResponse<String> post(String path, ObjectNode body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(ts.url() + path)).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static ObjectNode completion(long seed, int n) {
        ObjectNode body = JSON.createObjectNode().put("model", TestServer.MODEL).put("prompt", "Once upon a time")
                .put("max_tokens", 300).put("temperature", 1.0).put("seed", seed).put("n", n);
        return body;
    }

    static ObjectNode chat(long seed, int n) {
        ObjectNode body = JSON.createObjectNode().put("model", TestServer.MODEL).put("max_tokens", 300)
                .put("temperature", 1.0).put("seed", seed).put("n", n);
        body.putArray("messages").addObject().put("role", "user").put("content", "Tell me about a cat.");
        return body;
    }

    /** The texts of a response's choices; each finished by its grammar ("stop"). */
    static String[] texts(JsonNode r, boolean chat) {
        String[] out = new String[r.get("choices").size()];
        for (JsonNode c : r.get("choices")) {
            String text = chat ? c.get("message").get("content").asText() : c.get("text").asText();
            assertEquals("stop", c.get("finish_reason").asText(), text);
            out[c.get("index").asInt()] = text;
        }
        return out;
    }

    @Test
    void everyGrammarFieldGivesParsingOutputs() throws Exception {
        int checked = 0;
        for (long seed = 1; seed <= 4; seed++) {
            // llama.cpp's field, on both endpoints
            for (String text : texts(ok(post("/v1/completions", completion(seed, 2).put("grammar", SMALL_JSON))),
                    false)) {
                assertTrue(JSON.readTree(text).isObject(), text);
                checked++;
            }
            for (String text : texts(ok(post("/v1/chat/completions", chat(seed, 1).put("grammar", ARITHMETIC))),
                    true)) {
                assertTrue(new Arithmetic(text).parses(), text);
                checked++;
            }
            // vLLM's fields
            for (String text : texts(ok(post("/v1/chat/completions", chat(seed, 2).put("guided_grammar",
                    SMALL_JSON))), true)) {
                assertTrue(JSON.readTree(text).isObject(), text);
                checked++;
            }
            ObjectNode so = completion(seed, 1);
            so.putObject("structured_outputs").put("grammar", ARITHMETIC);
            for (String text : texts(ok(post("/v1/completions", so)), false)) {
                assertTrue(new Arithmetic(text).parses(), text);
                checked++;
            }
        }
        assertEquals(4 * 6, checked);
    }

    @Test
    void streamedGrammarOutputParses() throws Exception {
        ObjectNode body = chat(7, 2).put("stream", true).put("guided_grammar", SMALL_JSON);
        HttpResponse<String> r = post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        StringBuilder[] text = {new StringBuilder(), new StringBuilder()};
        for (String block : r.body().split("\n\n")) {
            if (!block.startsWith("data: ") || block.equals("data: [DONE]")) {
                continue;
            }
            for (JsonNode c : JSON.readTree(block.substring(6)).get("choices")) {
                JsonNode content = c.path("delta").path("content");
                if (content.isTextual()) {
                    text[c.get("index").asInt()].append(content.asText());
                }
            }
        }
        for (StringBuilder t : text) {
            assertTrue(JSON.readTree(t.toString()).isObject(), t.toString());
        }
    }

    @Test
    void malformedGrammarsAre400sNamingTheFieldAndProblem() throws Exception {
        String[][] cases = {
            {"grammar", "root ::= value", "rule 'value' is used"},
            {"grammar", "root ::= (\"a\"", "unbalanced '('"},
            {"guided_grammar", "root ::= \"\\q\"", "unknown escape"},
            {"guided_grammar", "", "empty"},
            {"grammar", "expr ::= \"1\"", "no 'root' rule"},
            {"grammar", "root ::= root \"a\" | \"b\"", "left-recursive"},
            {"structured_outputs.grammar", "root ::= [", "unterminated character class"},
            {"grammar", "root ::= \"a\"{1001}", "above 1000"},
            {"grammar", "x".repeat(StructuredOutput.MAX_SOURCE_CHARS + 1), "at most"},
        };
        for (String[] c : cases) {
            ObjectNode body = completion(1, 1);
            if (c[0].startsWith("structured_outputs.")) {
                body.putObject("structured_outputs").put("grammar", c[1]);
            } else {
                body.put(c[0], c[1]);
            }
            HttpResponse<String> r = post("/v1/completions", body);
            assertEquals(400, r.statusCode(), c[1] + " -> " + r.body());
            JsonNode e = JSON.readTree(r.body()).get("error");
            assertEquals(c[0], e.get("param").asText(), r.body());
            assertTrue(e.get("message").asText().contains(c[2]), r.body());
        }
        ObjectNode number = completion(1, 1);
        number.put("grammar", 5);
        assertEquals(400, post("/v1/completions", number).statusCode());
        ObjectNode two = completion(1, 1).put("grammar", ARITHMETIC).put("guided_regex", "a");
        HttpResponse<String> r = post("/v1/completions", two);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("only one of"), r.body());
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
            for (int k = 0; k < 3 && i < s.length() && s.charAt(i) == '+'; k++) {
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
            for (int k = 0; k < 2 && i < s.length() && s.charAt(i) == '*'; k++) {
                i++;
                if (!factor()) {
                    return false;
                }
            }
            return true;
        }

        private boolean factor() {
            if (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
                return true;
            }
            if (i < s.length() && s.charAt(i) == '(') {
                i++;
                if (!expr() || i >= s.length() || s.charAt(i) != ')') {
                    return false;
                }
                i++;
                return true;
            }
            return false;
        }
    }
}
