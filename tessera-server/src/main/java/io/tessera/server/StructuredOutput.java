package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.core.structured.ConstraintException;
import io.tessera.core.structured.Constraints;
import io.tessera.core.structured.Rx;
import io.tessera.core.structured.TokenConstraint;
import io.tessera.core.structured.TokenVocabulary;
import io.tessera.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A request's structured-output fields (OpenAI's {@code response_format}, vLLM's
 * {@code guided_json}, {@code guided_regex}, {@code guided_choice}, {@code guided_grammar} and
 * {@code structured_outputs}, llama.cpp's {@code grammar}) compiled to one {@link TokenConstraint},
 * or null when it has none. At most one may be given. Grammars are GBNF, as llama.cpp's server
 * takes them (vLLM's xgrammar backend reads the same notation).
 * Compiled constraints are kept by their source text (a few, least recently used first out), so
 * that a client repeating its schema pays the compile and the masks once.
 */
final class StructuredOutput {
    /** Compiled constraints kept at most. */
    static final int CACHE_SIZE = 16;
    /** Longest schema or regular expression text accepted. */
    static final int MAX_SOURCE_CHARS = 64 * 1024;

    private final Supplier<TokenVocabulary> vocabulary;
    private final Map<String, TokenConstraint> cache = new LinkedHashMap<>(CACHE_SIZE, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, TokenConstraint> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    StructuredOutput(Tokenizer tokenizer) {
        // the vocabulary's trie is built on first use: servers never asked for structured output skip it
        TokenVocabulary[] built = new TokenVocabulary[1];
        this.vocabulary = () -> {
            synchronized (built) {
                if (built[0] == null) {
                    built[0] = TokenVocabulary.of(tokenizer);
                }
                return built[0];
            }
        };
    }

    /** The request's constraint, or null. */
    TokenConstraint parse(JsonNode body) {
        List<Source> sources = new ArrayList<>();
        responseFormat(body, sources);
        if (Fields.present(body, "guided_json")) {
            sources.add(json(body.get("guided_json"), "guided_json"));
        }
        if (Fields.present(body, "guided_regex")) {
            sources.add(regex(body.get("guided_regex"), "guided_regex"));
        }
        if (Fields.present(body, "guided_choice")) {
            sources.add(choice(body.get("guided_choice"), "guided_choice"));
        }
        if (Fields.present(body, "guided_grammar")) {
            sources.add(grammar(body.get("guided_grammar"), "guided_grammar"));
        }
        if (Fields.present(body, "grammar")) {
            sources.add(grammar(body.get("grammar"), "grammar"));
        }
        structuredOutputs(body, sources);
        if (sources.isEmpty()) {
            return null;
        }
        if (sources.size() > 1) {
            throw ApiException.badParam(sources.get(1).field, "only one of response_format (json_object or"
                    + " json_schema), guided_json, guided_regex, guided_choice, guided_grammar, grammar and"
                    + " structured_outputs may be given;"
                    + " got '" + sources.get(0).field + "' and '" + sources.get(1).field + "'");
        }
        return compile(sources.get(0));
    }

    /** How a constraint was stated: its field, a cache key, and how to compile it for the vocabulary. */
    private record Source(String field, String key, Function<TokenVocabulary, TokenConstraint> compiler) {
        static Source of(String field, String key, Supplier<Rx> language) {
            return new Source(field, key, vocabulary -> Constraints.compile(language.get(), vocabulary, field));
        }
    }

    private void responseFormat(JsonNode body, List<Source> sources) {
        JsonNode rf = Fields.object(body, "response_format");
        if (rf == null) {
            return;
        }
        String type = Fields.string(rf, "type", null);
        if (type == null) {
            throw ApiException.badParam("response_format.type", "'response_format.type' is required (text,"
                    + " json_object or json_schema)");
        }
        switch (type) {
            case "text" -> onlyKeys(rf, "response_format", "type");
            case "json_object" -> {
                onlyKeys(rf, "response_format", "type");
                sources.add(Source.of("response_format", "json_object", Constraints::jsonObject));
            }
            case "json_schema" -> {
                onlyKeys(rf, "response_format", "type", "json_schema");
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badParam("response_format.json_schema", "'response_format.json_schema' must be"
                            + " an object with a 'schema'");
                }
                onlyKeys(js, "response_format.json_schema", "name", "schema", "strict", "description");
                Fields.bool(js, "strict", false); // strict or not, the output follows the schema
                JsonNode schema = js.get("schema");
                if (schema == null || !(schema.isObject() || schema.isBoolean())) {
                    throw ApiException.badParam("response_format.json_schema.schema",
                            "'response_format.json_schema.schema' must be a JSON schema object");
                }
                sources.add(json(schema, "response_format.json_schema.schema"));
            }
            default -> throw ApiException.badParam("response_format.type", "unknown 'response_format.type' '" + type
                    + "' (expected text, json_object or json_schema)");
        }
    }

    private void structuredOutputs(JsonNode body, List<Source> sources) {
        JsonNode so = Fields.object(body, "structured_outputs");
        if (so == null) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = so.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String field = "structured_outputs." + e.getKey();
            if (e.getValue().isNull()) {
                continue;
            }
            switch (e.getKey()) {
                case "json" -> sources.add(json(e.getValue(), field));
                case "regex" -> sources.add(regex(e.getValue(), field));
                case "choice" -> sources.add(choice(e.getValue(), field));
                case "grammar" -> sources.add(grammar(e.getValue(), field));
                case "json_object" -> {
                    if (Fields.bool(so, "json_object", false)) {
                        sources.add(Source.of(field, "json_object", Constraints::jsonObject));
                    }
                }
                default -> throw ApiException.badParam(field, "'" + field + "' is not supported by this server");
            }
        }
    }

    private static void onlyKeys(JsonNode node, String where, String... allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of(allowed).contains(k)) {
                throw ApiException.badParam(where + "." + k, "Unrecognized argument '" + where + "." + k + "'");
            }
        }
    }

    private static Source json(JsonNode v, String field) {
        JsonNode schema = v;
        if (v.isTextual()) {
            // vLLM takes the schema as JSON text too
            checkLength(v.asText(), field);
            try {
                schema = new com.fasterxml.jackson.databind.ObjectMapper().readTree(v.asText());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ApiException.badParam(field, "'" + field + "' is not valid JSON: " + e.getOriginalMessage());
            }
        }
        if (schema == null || !(schema.isObject() || schema.isBoolean())) {
            throw ApiException.badParam(field, "'" + field + "' must be a JSON schema object");
        }
        String text = schema.toString();
        checkLength(text, field);
        JsonNode s = schema;
        return Source.of(field, "json_schema:" + text, () -> Constraints.jsonSchema(s, field));
    }

    private static Source regex(JsonNode v, String field) {
        if (!v.isTextual()) {
            throw Fields.wrongType(field, "a string", v);
        }
        checkLength(v.asText(), field);
        return Source.of(field, "regex:" + v.asText(), () -> Constraints.regex(v.asText(), field));
    }

    private static Source choice(JsonNode v, String field) {
        if (!v.isArray()) {
            throw Fields.wrongType(field, "an array of strings", v);
        }
        List<String> choices = new ArrayList<>();
        long chars = 0;
        for (JsonNode c : v) {
            if (!c.isTextual() || c.asText().isEmpty()) {
                throw ApiException.badParam(field, "'" + field + "' must be an array of non-empty strings");
            }
            choices.add(c.asText());
            chars += c.asText().length();
        }
        if (chars > MAX_SOURCE_CHARS) {
            throw ApiException.badParam(field, "'" + field + "' may have at most " + MAX_SOURCE_CHARS
                    + " characters in all, got " + chars);
        }
        return Source.of(field, "choice:" + v, () -> Constraints.choice(choices, field));
    }

    private static Source grammar(JsonNode v, String field) {
        if (!v.isTextual()) {
            throw Fields.wrongType(field, "a string (a GBNF grammar)", v);
        }
        checkLength(v.asText(), field);
        return new Source(field, "gbnf:" + v.asText(), vocabulary -> Constraints.grammar(v.asText(), vocabulary, field));
    }

    private static void checkLength(String text, String field) {
        if (text.length() > MAX_SOURCE_CHARS) {
            throw ApiException.badParam(field, "'" + field + "' may have at most " + MAX_SOURCE_CHARS
                    + " characters, got " + text.length());
        }
    }

    /**
     * Compiles a language stated by another field (tool calling), cached by {@code key}.
     *
     * @throws ApiException 400 naming {@code field} if it is over the limits
     */
    TokenConstraint compile(String field, String key, Supplier<Rx> language) {
        return compile(Source.of(field, key, language));
    }

    private TokenConstraint compile(Source source) {
        synchronized (cache) {
            TokenConstraint c = cache.get(source.key);
            if (c != null) {
                return c;
            }
        }
        TokenConstraint c;
        try {
            c = source.compiler.apply(vocabulary.get());
        } catch (ConstraintException e) {
            throw ApiException.badParam(source.field, e.getMessage());
        }
        synchronized (cache) {
            cache.put(source.key, c);
        }
        return c;
    }
}
