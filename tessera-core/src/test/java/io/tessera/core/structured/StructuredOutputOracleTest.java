package io.tessera.core.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Text generated under a constraint over the real Llama 3 vocabulary (128k byte-level tokens),
 * from random logits through the sampler and the cursor's mask, is valid: every JSON output
 * validates against its schema with networknt's JSON Schema validator, every regex output matches
 * java.util.regex, every choice is one of the choices. Many schemas, several seeds each.
 */
class StructuredOutputOracleTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static Tokenizer llama3;
    static TokenVocabulary vocabulary;

    static final List<String> SCHEMAS = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"}},
             "required":["name","age"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"ok":{"type":"boolean"},"score":{"type":"number"},"note":{"type":"null"}},
             "required":["ok"]}""",
            """
            {"type":"array","items":{"type":"string","enum":["red","green","blue"]},"minItems":2,"maxItems":4}""",
            """
            {"type":"object","properties":{"person":{"type":"object","properties":{"first":{"type":"string",
             "minLength":1,"maxLength":8},"tags":{"type":"array","items":{"type":"integer"},"maxItems":3}},
             "required":["first","tags"],"additionalProperties":false}},"required":["person"],
             "additionalProperties":false}""",
            """
            {"anyOf":[{"type":"string","maxLength":5},{"type":"integer"},{"type":"object","properties":{
             "k":{"const":"v"}},"required":["k"]}]}""",
            """
            {"type":"object","properties":{"id":{"type":"string","format":"uuid"},"day":{"type":"string",
             "format":"date"},"at":{"type":"string","format":"date-time"}},"required":["id","day","at"]}""",
            """
            {"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},
             "free":{"type":"string","pattern":"ab+"}},"required":["code","free"]}""",
            """
            {"$defs":{"point":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},
             "required":["x","y"],"additionalProperties":false}},"type":"array","items":{"$ref":"#/$defs/point"},
             "maxItems":3}""",
            """
            {"type":["string","null"],"maxLength":4}""",
            """
            {"type":"object","additionalProperties":{"type":"integer"}}""",
            """
            {"type":"object","properties":{"any":{},"list":{"type":"array"}},"required":["any","list"]}""",
            """
            {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},
             "required":["b"]}""",
            """
            {"type":"object","properties":{"text":{"type":"string","minLength":3,"maxLength":20}},"required":["text"],
             "additionalProperties":false}""");

    @BeforeAll
    static void load() throws Exception {
        llama3 = Tokenizers.open(NpmTokenizers.llama3());
        vocabulary = TokenVocabulary.of(llama3);
    }

    @Test
    void jsonSchemaOutputsValidate() throws Exception {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        int validated = 0;
        for (int i = 0; i < SCHEMAS.size(); i++) {
            JsonNode schemaJson = JSON.readTree(SCHEMAS.get(i));
            Schema validator = registry.getSchema(schemaJson);
            TokenConstraint c = Constraints.compile(Constraints.jsonSchema(schemaJson, "schema " + i), vocabulary,
                    "schema " + i);
            for (long seed = 0; seed < 6; seed++) {
                ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed * 31 + i, seed < 3 ? 8 : 60);
                assertTrue(w.ended, "schema " + i + " seed " + seed + " did not end: " + w.text);
                JsonNode value = JSON.readTree(w.text);
                assertEquals(List.of(), validator.validate(value), "schema " + i + " seed " + seed + ": " + w.text);
                validated++;
            }
        }
        assertEquals(SCHEMAS.size() * 6, validated);
    }

    @Test
    void jsonObjectOutputsAreObjects() throws Exception {
        TokenConstraint c = Constraints.compile(Constraints.jsonObject(), vocabulary, "json_object");
        for (long seed = 0; seed < 8; seed++) {
            ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed, 40);
            assertTrue(w.ended, w.text);
            assertTrue(JSON.readTree(w.text).isObject(), w.text);
        }
    }

    @Test
    void regexOutputsMatch() {
        List<String> regexes = List.of("[a-z]{3,6}@example\\.(com|org)", "\\d{3}-\\d{4}", "(yes|no|maybe)!?",
                "[^\\s]{1,5} [A-Z][a-z]*", "0x[0-9a-fA-F]{2,8}", "é+[αβγ]{1,3}");
        for (String regex : regexes) {
            TokenConstraint c = Constraints.compile(Constraints.regex(regex, "guided_regex"), vocabulary, regex);
            for (long seed = 0; seed < 5; seed++) {
                ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed, 10);
                assertTrue(w.ended, w.text);
                assertTrue(Pattern.matches(regex, w.text), regex + " vs '" + w.text + "'");
            }
        }
    }

    @Test
    void choicesAreOneOfThem() {
        List<String> choices = List.of("positive", "negative", "neutral", "pos");
        TokenConstraint c = Constraints.compile(Constraints.choice(choices, "guided_choice"), vocabulary, "choice");
        for (long seed = 0; seed < 10; seed++) {
            ConstrainedWalk w = ConstrainedWalk.run(c, llama3.eos(), seed, 10);
            assertTrue(w.ended && choices.contains(w.text), w.text);
        }
    }
}
