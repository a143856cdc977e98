package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Structured output, logit_bias, best_of and the request-field rule over real HTTP on stories260K
 * (a real model, vocabulary 512): sampled outputs validate against their schema with networknt's
 * validator, also streamed, with n > 1 and batched beside an unconstrained request, whose tokens
 * do not change.
 */
class StructuredOutputTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static TestServer ts;
    static HttpClient http;

    static final List<String> SCHEMAS = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string","maxLength":10},"happy":{"type":"boolean"}},
             "required":["name","happy"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"animal":{"enum":["cat","dog","bird"]},"friends":{"type":"array",
             "items":{"type":"string","maxLength":6},"minItems":1,"maxItems":3}},"required":["animal","friends"]}""",
            """
            {"type":"array","items":{"anyOf":[{"type":"boolean"},{"type":"null"},{"const":"yes"}]},"maxItems":4}""",
            """
            {"type":"object","properties":{"story":{"type":"object","properties":{"title":{"type":"string",
             "minLength":2,"maxLength":8},"day":{"type":"string","format":"date"}},"required":["title","day"]}},
             "required":["story"]}""");

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

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(ts.url() + path)).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static void refused(String path, String body, String param) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertEquals(400, r.statusCode(), body + " -> " + r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals(param, e.get("param").asText(), r.body());
        assertTrue(e.get("message").asText().length() > 10, r.body());
    }

    private static ObjectNode chat(String schema, long seed, int n) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", TestServer.MODEL);
        body.putArray("messages").addObject().put("role", "user").put("content", "Tell me about a cat.");
        body.put("max_tokens", 400).put("temperature", 1.0).put("seed", seed).put("n", n);
        ObjectNode rf = body.putObject("response_format");
        rf.put("type", "json_schema");
        ObjectNode js = rf.putObject("json_schema");
        js.put("name", "answer").put("strict", true);
        js.set("schema", JSON.readTree(schema));
        return body;
    }

    @Test
    void chatOutputsValidateAgainstTheirSchemas() throws Exception {
        int validated = 0;
        for (String schema : SCHEMAS) {
            Schema validator = REGISTRY.getSchema(JSON.readTree(schema));
            for (long seed = 1; seed <= 3; seed++) {
                JsonNode r = ok(post("/v1/chat/completions", chat(schema, seed, 2).toString()));
                for (JsonNode choice : r.get("choices")) {
                    String content = choice.get("message").get("content").asText();
                    assertEquals("stop", choice.get("finish_reason").asText(), content);
                    assertEquals(List.of(), validator.validate(JSON.readTree(content)), schema + " -> " + content);
                    validated++;
                }
            }
        }
        assertEquals(SCHEMAS.size() * 3 * 2, validated);
    }

    @Test
    void streamedOutputValidates() throws Exception {
        String schema = SCHEMAS.get(1);
        ObjectNode body = chat(schema, 5, 2);
        body.put("stream", true);
        HttpResponse<String> r = post("/v1/chat/completions", body.toString());
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
        Schema validator = REGISTRY.getSchema(JSON.readTree(schema));
        for (StringBuilder t : text) {
            assertEquals(List.of(), validator.validate(JSON.readTree(t.toString())), t.toString());
        }
    }

    @Test
    void unconstrainedRequestsInTheSameBatchAreUnchanged() throws Exception {
        String plain = """
                {"model":"stories260K","prompt":"Once upon a time","max_tokens":40,"temperature":0}""";
        String alone = ok(post("/v1/completions", plain)).get("choices").get(0).get("text").asText();
        for (int round = 0; round < 2; round++) {
            String constrained = chat(SCHEMAS.get(0), 11 + round, 3).toString();
            CompletableFuture<HttpResponse<String>> c = CompletableFuture.supplyAsync(() -> {
                try {
                    return post("/v1/chat/completions", constrained);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            String beside = ok(post("/v1/completions", plain)).get("choices").get(0).get("text").asText();
            assertEquals(alone, beside);
            assertEquals(200, c.get().statusCode());
        }
    }

    @Test
    void guidedChoiceRegexAndJsonOnCompletions() throws Exception {
        List<String> choices = List.of("happy", "sad", "sleepy");
        for (long seed = 0; seed < 4; seed++) {
            JsonNode r = ok(post("/v1/completions", """
                    {"prompt":"The cat was","max_tokens":20,"temperature":1,"seed":%d,
                     "guided_choice":["happy","sad","sleepy"]}""".formatted(seed)));
            assertTrue(choices.contains(r.get("choices").get(0).get("text").asText()), r.toString());
            String regex = "[A-Z][a-z]{2,6} (ran|sat)\\.";
            r = ok(post("/v1/completions", JSON.createObjectNode().put("prompt", "Tim").put("max_tokens", 30)
                    .put("temperature", 1).put("seed", seed).put("guided_regex", regex).toString()));
            String text = r.get("choices").get(0).get("text").asText();
            assertTrue(Pattern.matches(regex, text), text);
            r = ok(post("/v1/completions", """
                    {"prompt":"Lily","max_tokens":200,"temperature":1,"seed":%d,
                     "structured_outputs":{"json":{"type":"object","properties":{"n":{"type":"integer"}},
                     "required":["n"]}}}""".formatted(seed)));
            JsonNode parsed = JSON.readTree(r.get("choices").get(0).get("text").asText());
            assertTrue(parsed.get("n").canConvertToLong(), parsed.toString());
        }
    }

    @Test
    void jsonObjectModeGivesAnObject() throws Exception {
        for (long seed = 0; seed < 3; seed++) {
            JsonNode r = ok(post("/v1/chat/completions", """
                    {"messages":[{"role":"user","content":"Hi"}],"max_tokens":300,"temperature":0.7,"seed":%d,
                     "response_format":{"type":"json_object"}}""".formatted(seed)));
            JsonNode choice = r.get("choices").get(0);
            String content = choice.get("message").get("content").asText();
            if (choice.get("finish_reason").asText().equals("stop")) {
                assertTrue(JSON.readTree(content).isObject(), content);
            } else {
                assertTrue(content.startsWith("{"), content); // cut by max_tokens: a prefix of an object
            }
        }
    }

    @Test
    void logitBiasSteersAndBans() throws Exception {
        String first = ok(post("/v1/completions", """
                {"prompt":"Once upon a time","max_tokens":1,"temperature":0}""")).get("choices").get(0).get("text")
                .asText();
        int id = ok(post("/tokenize", JSON.createObjectNode().put("prompt", "dog").put("add_special_tokens", false)
                .toString())).get("tokens").get(0).asInt();
        String bias = "\"logit_bias\":{\"" + id + "\":100}";
        String one = ok(post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":1,\"temperature\":0,"
                + bias + "}")).get("choices").get(0).get("text").asText();
        String three = ok(post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,"
                + "\"temperature\":0.8,\"seed\":3," + bias + "}")).get("choices").get(0).get("text").asText();
        assertNotEquals(first, one);
        assertEquals(one.repeat(3), three, "a +100 bias wins every step, sampled or not");
        int[] ids = JSON.convertValue(ok(post("/tokenize", JSON.createObjectNode()
                .put("prompt", "Once upon a time" + first).put("add_special_tokens", false).toString())).get("tokens"),
                int[].class);
        String banned = ok(post("/v1/completions", """
                {"prompt":"Once upon a time","max_tokens":1,"temperature":0,"logit_bias":{"%d":-100}}"""
                .formatted(ids[ids.length - 1]))).get("choices").get(0).get("text").asText();
        assertNotEquals(first, banned);
    }

    @Test
    void bestOfEqualToNOnly() throws Exception {
        JsonNode r = ok(post("/v1/completions", """
                {"prompt":"Once","max_tokens":2,"n":2,"best_of":2,"temperature":0}"""));
        assertEquals(2, r.get("choices").size());
        refused("/v1/completions", """
                {"prompt":"Once","max_tokens":2,"n":1,"best_of":3}""", "best_of");
    }

    @Test
    void unknownAndUnsupportedFieldsAreRefusedByName() throws Exception {
        String chat = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2";
        String[][] cases = {
            {"/v1/chat/completions", "{" + chat + ",\"temprature\":0.5}", "temprature"},
            {"/v1/chat/completions", "{" + chat + ",\"__proto__\":{}}", "__proto__"},
            {"/v1/chat/completions", "{" + chat + ",\"reasoning_effort\":\"high\"}", "reasoning_effort"},
            {"/v1/chat/completions", "{" + chat + ",\"functions\":[{\"name\":\"f\"}]}", "functions"},
            {"/v1/chat/completions", "{" + chat + ",\"guided_decoding_backend\":\"xgrammar\"}",
                "guided_decoding_backend"},
            {"/v1/chat/completions", "{" + chat + ",\"min_tokens\":5}", "min_tokens"},
            {"/v1/chat/completions", "{" + chat + ",\"echo\":true}", "echo"},
            {"/v1/chat/completions", "{" + chat + ",\"tool_choice\":\"required\"}", "tool_choice"},
            {"/v1/chat/completions", "{" + chat + ",\"best_of\":2}", "best_of"},
            {"/v1/chat/completions", "{" + chat + ",\"prompt\":\"x\"}", "prompt"},
            {"/v1/completions", "{\"prompt\":\"x\",\"messages\":[]}", "messages"},
            {"/v1/completions", "{\"prompt\":\"x\",\"suffix\":\"y\"}", "suffix"},
            {"/v1/completions", "{\"prompt\":\"x\",\"top_logprobs\":2}", "top_logprobs"},
            {"/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"99999\":1}}", "logit_bias"},
            {"/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"5\":101}}", "logit_bias"},
            {"/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"five\":1}}", "logit_bias"},
            {"/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"5\":\"1\"}}", "logit_bias"},
            {"/v1/completions", "{\"prompt\":\"x\",\"response_format\":{\"type\":\"xml\"}}", "response_format.type"},
            {"/v1/completions", "{\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\",\"x\":1}}",
                "response_format.x"},
            {"/v1/completions", "{\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\"},"
                + "\"guided_regex\":\"a\"}", "guided_regex"},
            {"/v1/completions", "{\"prompt\":\"x\",\"structured_outputs\":{\"structural_tag\":\"x\"}}",
                "structured_outputs.structural_tag"},
        };
        for (String[] c : cases) {
            refused(c[0], c[1], c[2]);
        }
        // metadata-only fields are accepted
        ok(post("/v1/chat/completions", "{" + chat + ",\"user\":\"u1\",\"store\":false,\"metadata\":{\"k\":\"v\"},"
                + "\"service_tier\":\"auto\",\"parallel_tool_calls\":true,\"tools\":[],\"tool_choice\":\"none\"}"));
    }

    @Test
    void hostileConstraintsAreRefusedByName() throws Exception {
        String[][] cases = {
            {"{\"$defs\":{\"a\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/a\"}}},\"$ref\":\"#/$defs/a\"}",
                "recursive"},
            {exponentialRefs(), "more than"},
            {"{\"type\":\"string\",\"maxLength\":100000}", "maxLength"},
            {"{\"type\":\"integer\",\"minimum\":3}", "minimum"},
            {"{\"type\":\"object\",\"patternProperties\":{\"a\":{}}}", "patternProperties"},
            {"{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}", "backreferences"},
            {"{\"type\":\"string\",\"format\":\"email\"}", "email"},
            {"{\"oneOf\":[{\"type\":\"string\"}]}", "oneOf"},
            {"{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":1000},\"maxItems\":1000}", "too complex"},
            {"{\"$ref\":\"http://example.com/s.json\"}", "$ref"},
        };
        for (String[] c : cases) {
            String body = "{\"prompt\":\"x\",\"max_tokens\":2,\"response_format\":{\"type\":\"json_schema\","
                    + "\"json_schema\":{\"name\":\"s\",\"schema\":" + c[0] + "}}}";
            HttpResponse<String> r = post("/v1/completions", body);
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            JsonNode e = JSON.readTree(r.body()).get("error");
            assertEquals("response_format.json_schema.schema", e.get("param").asText(), r.body());
            assertTrue(e.get("message").asText().contains(c[1]), r.body());
        }
        String[][] regexes = {{"(a|b)*a(a|b){14}", "too complex"}, {"(?=a)b", "lookaround"}, {"a{2000}", "1000"},
            {"[z-a]", "order"}, {"(ab", "')'"}, {"\\bword", "boundaries"}};
        for (String[] c : regexes) {
            HttpResponse<String> r = post("/v1/completions", JSON.createObjectNode().put("prompt", "x")
                    .put("guided_regex", c[0]).toString());
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            JsonNode e = JSON.readTree(r.body()).get("error");
            assertEquals("guided_regex", e.get("param").asText(), r.body());
            assertTrue(e.get("message").asText().contains(c[1]), r.body());
        }
    }

    /** Twenty definitions, each an array of two of the next: 2^20 expansions if references were inlined blindly. */
    private static String exponentialRefs() {
        StringBuilder defs = new StringBuilder("{\"$defs\":{");
        for (int i = 0; i < 20; i++) {
            defs.append("\"d").append(i).append("\":{\"type\":\"array\",\"prefixItems\":null,\"items\":{\"$ref\":\"#/$defs/d")
                    .append(i + 1).append("\"},\"minItems\":2,\"maxItems\":2},");
        }
        defs.append("\"d20\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/d0\"}");
        return defs.toString().replace("\"prefixItems\":null,", "");
    }
}
