package io.tessera.core.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON texts as an {@link Rx}: any JSON value (nested to a fixed depth), or the values a JSON
 * Schema describes. Output is compact JSON with one optional space after {@code :} and
 * {@code ,}; object members come in the schema's order; numbers have at most
 * {@value #MAX_DIGITS} digits before and after the point (a model that would write digits
 * forever has to stop).
 *
 * <p>The supported JSON Schema subset: {@code type} (one or a list of object, array, string,
 * number, integer, boolean, null), {@code properties}, {@code required},
 * {@code additionalProperties} (false, true, or a schema for an object without properties),
 * {@code items}, {@code minItems}/{@code maxItems}, {@code enum}, {@code const}, {@code anyOf},
 * {@code allOf} of one schema, {@code minLength}/{@code maxLength}, {@code pattern},
 * {@code format} (date, time, date-time, uuid), {@code $ref} to {@code #/$defs/...} or
 * {@code #/definitions/...} (not recursive), and the annotations (title, description, default,
 * examples, $schema, $id, $comment, $defs, definitions). Anything else is refused by name.
 */
public final class JsonGrammar {
    /** Nesting levels of arbitrary JSON below a {@code json_object}'s top object. */
    public static final int ANY_DEPTH = 4;
    /** Nesting levels of arbitrary JSON where a schema allows any value. */
    public static final int ANY_DEPTH_IN_SCHEMA = 3;
    /** Schema objects a schema may expand to (after $ref), at most. */
    public static final int MAX_SCHEMA_NODES = 2000;
    /** Schema nesting depth at most. */
    public static final int MAX_SCHEMA_DEPTH = 32;
    static final int MAX_DIGITS = 16;

    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema",
            "$id", "$comment", "$defs", "definitions", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> SUPPORTED = Set.of("type", "properties", "required", "additionalProperties",
            "items", "minItems", "maxItems", "enum", "const", "anyOf", "allOf", "minLength", "maxLength", "pattern",
            "format", "$ref");

    private static final CodePoints STRING_CHARS =
            CodePoints.range(0x20, CodePoints.MAX).minus(CodePoints.range('"', '"')).minus(CodePoints.range('\\', '\\'));
    private static final Rx DIGIT = Rx.range('0', '9');
    private static final Rx HEX = Rx.alt(DIGIT, Rx.range('a', 'f'), Rx.range('A', 'F'));
    private static final Rx CHAR = Rx.alt(STRING_CHARS.toRx(),
            Rx.seq(Rx.literal("\\"), Rx.alt(Rx.anyOf("\"\\/bfnrt"), Rx.seq(Rx.literal("u"), HEX, HEX, HEX, HEX))));
    private static final Rx INTEGER = Rx.seq(Rx.optional(Rx.literal("-")),
            Rx.alt(Rx.literal("0"), Rx.seq(Rx.range('1', '9'), new Rx.Repeat(DIGIT, 0, MAX_DIGITS - 1))));
    private static final Rx NUMBER = Rx.seq(INTEGER,
            Rx.optional(Rx.seq(Rx.literal("."), new Rx.Repeat(DIGIT, 1, MAX_DIGITS))),
            Rx.optional(Rx.seq(Rx.anyOf("eE"), Rx.optional(Rx.anyOf("+-")), new Rx.Repeat(DIGIT, 1, 3))));
    private static final Rx COLON = Rx.seq(Rx.literal(":"), Rx.optional(Rx.literal(" ")));
    private static final Rx COMMA = Rx.seq(Rx.literal(","), Rx.optional(Rx.literal(" ")));
    private static final Rx DATE = Rx.seq(DIGIT, DIGIT, DIGIT, DIGIT, Rx.literal("-"),
            Rx.alt(Rx.seq(Rx.literal("0"), Rx.range('1', '9')), Rx.seq(Rx.literal("1"), Rx.range('0', '2'))),
            Rx.literal("-"),
            // days up to 28: valid in every month, so no calendar is needed
            Rx.alt(Rx.seq(Rx.literal("0"), Rx.range('1', '9')), Rx.seq(Rx.literal("1"), DIGIT),
                    Rx.seq(Rx.literal("2"), Rx.range('0', '8'))));
    private static final Rx TIME = Rx.seq(Rx.alt(Rx.seq(Rx.anyOf("01"), DIGIT), Rx.seq(Rx.literal("2"),
                    Rx.range('0', '3'))), Rx.literal(":"), Rx.range('0', '5'), DIGIT, Rx.literal(":"),
            Rx.range('0', '5'), DIGIT, Rx.optional(Rx.seq(Rx.literal("."), new Rx.Repeat(DIGIT, 1, 6))),
            Rx.alt(Rx.literal("Z"), Rx.seq(Rx.anyOf("+-"), Rx.alt(Rx.seq(Rx.anyOf("01"), DIGIT),
                    Rx.seq(Rx.literal("2"), Rx.range('0', '3'))), Rx.literal(":"), Rx.range('0', '5'), DIGIT)));
    private static final Rx UUID = Rx.seq(new Rx.Repeat(HEX, 8, 8), Rx.literal("-"), new Rx.Repeat(HEX, 4, 4),
            Rx.literal("-"), new Rx.Repeat(HEX, 4, 4), Rx.literal("-"), new Rx.Repeat(HEX, 4, 4), Rx.literal("-"),
            new Rx.Repeat(HEX, 12, 12));
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonNode root;
    private final String field;
    private final Deque<String> refs = new ArrayDeque<>();
    private int nodes;

    private JsonGrammar(JsonNode root, String field) {
        this.root = root;
        this.field = field;
    }

    /** Any JSON object, its values nested up to {@link #ANY_DEPTH} levels. */
    public static Rx anyObject() {
        return object(ANY_DEPTH);
    }

    /**
     * The JSON texts a schema describes.
     *
     * @param field the request field holding the schema, for messages
     * @throws ConstraintException naming an unsupported or invalid construct by its path
     */
    public static Rx schema(JsonNode schema, String field) {
        return new JsonGrammar(schema, field).compile(schema, "", 0);
    }

    private ConstraintException error(String path, String message) {
        return new ConstraintException(field + (path.isEmpty() ? "" : " at '" + path + "'") + ": " + message);
    }

    private Rx compile(JsonNode s, String path, int depth) {
        if (++nodes > MAX_SCHEMA_NODES) {
            throw error(path, "the schema expands to more than " + MAX_SCHEMA_NODES + " subschemas");
        }
        if (depth > MAX_SCHEMA_DEPTH) {
            throw error(path, "the schema nests more than " + MAX_SCHEMA_DEPTH + " levels deep");
        }
        if (s.isBoolean()) {
            if (!s.booleanValue()) {
                throw error(path, "the schema 'false' admits no value");
            }
            return value(ANY_DEPTH_IN_SCHEMA);
        }
        if (!s.isObject()) {
            throw error(path, "a schema must be an object or a boolean");
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!SUPPORTED.contains(k) && !ANNOTATIONS.contains(k)) {
                throw error(path, "the JSON Schema keyword '" + k + "' is not supported");
            }
        }
        if (s.has("$ref")) {
            return ref(s, path, depth);
        }
        if (s.has("const")) {
            return literalValue(s.get("const"));
        }
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw error(path + "/enum", "'enum' must be a non-empty array");
            }
            List<Rx> options = new ArrayList<>();
            for (JsonNode v : e) {
                options.add(literalValue(v));
            }
            return new Rx.Alt(options);
        }
        if (s.has("anyOf")) {
            JsonNode a = s.get("anyOf");
            if (!a.isArray() || a.isEmpty()) {
                throw error(path + "/anyOf", "'anyOf' must be a non-empty array");
            }
            if (s.has("type") || s.has("properties") || s.has("items")) {
                throw error(path, "'anyOf' beside other constraints is not supported; put them in its branches");
            }
            List<Rx> options = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                options.add(compile(a.get(i), path + "/anyOf/" + i, depth + 1));
            }
            return new Rx.Alt(options);
        }
        if (s.has("allOf")) {
            JsonNode a = s.get("allOf");
            if (!a.isArray() || a.size() != 1 || s.size() > 1 && !onlyAnnotationsBesides(s, "allOf")) {
                throw error(path + "/allOf", "'allOf' is supported with exactly one schema and nothing beside it");
            }
            return compile(a.get(0), path + "/allOf/0", depth + 1);
        }
        List<String> types = types(s, path);
        List<Rx> options = new ArrayList<>();
        for (String t : types) {
            options.add(typed(t, s, path, depth));
        }
        return options.size() == 1 ? options.get(0) : new Rx.Alt(options);
    }

    private static boolean onlyAnnotationsBesides(JsonNode s, String keyword) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals(keyword) && !ANNOTATIONS.contains(k)) {
                return false;
            }
        }
        return true;
    }

    private List<String> types(JsonNode s, String path) {
        JsonNode t = s.get("type");
        List<String> out = new ArrayList<>();
        if (t == null) {
            if (s.has("properties") || s.has("additionalProperties") || s.has("required")) {
                out.add("object");
            } else if (s.has("items") || s.has("minItems") || s.has("maxItems")) {
                out.add("array");
            } else if (s.has("minLength") || s.has("maxLength") || s.has("pattern") || s.has("format")) {
                out.add("string");
            } else {
                out.add("any");
            }
            return out;
        }
        Set<String> names = new LinkedHashSet<>();
        if (t.isTextual()) {
            names.add(t.asText());
        } else if (t.isArray() && !t.isEmpty()) {
            for (JsonNode e : t) {
                if (!e.isTextual()) {
                    throw error(path + "/type", "'type' must be a string or an array of strings");
                }
                names.add(e.asText());
            }
        } else {
            throw error(path + "/type", "'type' must be a string or a non-empty array of strings");
        }
        for (String n : names) {
            if (!Set.of("object", "array", "string", "number", "integer", "boolean", "null").contains(n)) {
                throw error(path + "/type", "unknown type '" + n + "'");
            }
        }
        out.addAll(names);
        return out;
    }

    private Rx typed(String type, JsonNode s, String path, int depth) {
        return switch (type) {
            case "any" -> value(ANY_DEPTH_IN_SCHEMA);
            case "null" -> Rx.literal("null");
            case "boolean" -> Rx.alt(Rx.literal("true"), Rx.literal("false"));
            case "integer" -> INTEGER;
            case "number" -> NUMBER;
            case "string" -> string(s, path);
            case "array" -> array(s, path, depth);
            default -> object(s, path, depth);
        };
    }

    private Rx string(JsonNode s, String path) {
        int min = count(s, "minLength", 0, path);
        int max = count(s, "maxLength", -1, path);
        if (max >= 0 && max < min) {
            throw error(path, "'maxLength' is below 'minLength'");
        }
        boolean lengths = s.has("minLength") || s.has("maxLength");
        if (s.has("format")) {
            if (lengths || s.has("pattern")) {
                throw error(path, "'format' together with 'pattern', 'minLength' or 'maxLength' is not supported");
            }
            String f = s.get("format").asText();
            Rx body = switch (f) {
                case "date" -> DATE;
                case "time" -> TIME;
                case "date-time" -> Rx.seq(DATE, Rx.literal("T"), TIME);
                case "uuid" -> UUID;
                default -> throw error(path + "/format", "the string format '" + f + "' is not supported"
                        + " (supported: date, time, date-time, uuid)");
            };
            return quoted(body);
        }
        if (s.has("pattern")) {
            if (lengths) {
                throw error(path, "'pattern' together with 'minLength' or 'maxLength' is not supported");
            }
            if (!s.get("pattern").isTextual()) {
                throw error(path + "/pattern", "'pattern' must be a string");
            }
            // the pattern's characters are produced as they are: never one that would need escaping
            return quoted(RegexParser.parse(s.get("pattern").asText(), STRING_CHARS, field + " at '" + path
                    + "/pattern'", true));
        }
        return quoted(new Rx.Repeat(CHAR, min, max));
    }

    private static Rx quoted(Rx body) {
        return Rx.seq(Rx.literal("\""), body, Rx.literal("\""));
    }

    private int count(JsonNode s, String keyword, int def, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return def;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw error(path + "/" + keyword, "'" + keyword + "' must be a non-negative integer");
        }
        if (v.asInt() > RegexParser.MAX_REPEAT) {
            throw error(path + "/" + keyword, "'" + keyword + "' above " + RegexParser.MAX_REPEAT
                    + " is not supported");
        }
        return v.asInt();
    }

    private Rx array(JsonNode s, String path, int depth) {
        int min = count(s, "minItems", 0, path);
        int max = count(s, "maxItems", -1, path);
        if (max >= 0 && max < min) {
            throw error(path, "'maxItems' is below 'minItems'");
        }
        JsonNode items = s.get("items");
        Rx item = items == null ? value(ANY_DEPTH_IN_SCHEMA - 1) : compile(items, path + "/items", depth + 1);
        return Rx.seq(Rx.literal("["), new Rx.SepList(item, COMMA, min, max), Rx.literal("]"));
    }

    private Rx object(JsonNode s, String path, int depth) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw error(path + "/required", "'required' must be an array of strings");
            }
            for (JsonNode r : req) {
                if (!r.isTextual()) {
                    throw error(path + "/required", "'required' must be an array of strings");
                }
                required.add(r.asText());
            }
        }
        if (props != null && !props.isObject()) {
            throw error(path + "/properties", "'properties' must be an object");
        }
        boolean closed = additional != null && additional.isBoolean() && !additional.booleanValue();
        if (props == null || props.isEmpty()) {
            if (closed) {
                if (!required.isEmpty()) {
                    throw error(path, "'required' names properties that 'additionalProperties': false forbids");
                }
                return Rx.literal("{}");
            }
            if (required.isEmpty()) {
                Rx value = additional != null && additional.isObject()
                        ? compile(additional, path + "/additionalProperties", depth + 1)
                        : value(ANY_DEPTH_IN_SCHEMA - 1);
                return Rx.seq(Rx.literal("{"), new Rx.SepList(Rx.seq(quoted(new Rx.Repeat(CHAR, 0, -1)), COLON, value),
                        COMMA, 0, -1), Rx.literal("}"));
            }
        }
        if (additional != null && !additional.isBoolean() && !additional.isObject()) {
            throw error(path + "/additionalProperties", "'additionalProperties' must be a boolean or a schema");
        }
        // Only the declared members are produced (and required names without a declaration):
        // every such object is valid whatever additionalProperties allows besides.
        List<Rx.Member> members = new ArrayList<>();
        Set<String> declared = new LinkedHashSet<>();
        if (props != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                declared.add(e.getKey());
                Rx value = compile(e.getValue(), path + "/properties/" + e.getKey(), depth + 1);
                members.add(new Rx.Member(Rx.seq(literalValue(JSON.getNodeFactory().textNode(e.getKey())), COLON,
                        value), required.contains(e.getKey())));
            }
        }
        for (String r : required) {
            if (!declared.contains(r)) {
                if (closed) {
                    throw error(path + "/required", "'" + r + "' is required but 'additionalProperties': false"
                            + " forbids it");
                }
                Rx value = additional != null && additional.isObject()
                        ? compile(additional, path + "/additionalProperties", depth + 1)
                        : value(ANY_DEPTH_IN_SCHEMA - 1);
                members.add(new Rx.Member(Rx.seq(literalValue(JSON.getNodeFactory().textNode(r)), COLON, value),
                        true));
            }
        }
        return Rx.seq(Rx.literal("{"), new Rx.Members(members, COMMA), Rx.literal("}"));
    }

    private Rx ref(JsonNode s, String path, int depth) {
        if (!onlyAnnotationsBesides(s, "$ref")) {
            throw error(path, "'$ref' beside other constraints is not supported");
        }
        String ref = s.get("$ref").asText();
        JsonNode target;
        if (ref.startsWith("#/$defs/") || ref.startsWith("#/definitions/")) {
            String[] parts = ref.substring(2).split("/", 2);
            String name = parts[1].replace("~1", "/").replace("~0", "~");
            target = root.path(parts[0]).get(name);
        } else {
            throw error(path + "/$ref", "only references to '#/$defs/NAME' or '#/definitions/NAME' are supported, got '"
                    + ref + "'");
        }
        if (target == null) {
            throw error(path + "/$ref", "'" + ref + "' does not resolve");
        }
        if (refs.contains(ref)) {
            throw error(path + "/$ref", "recursive references are not supported ('" + ref + "')");
        }
        refs.push(ref);
        try {
            return compile(target, ref.substring(1), depth + 1);
        } finally {
            refs.pop();
        }
    }

    /** A value's compact JSON text, literally. */
    private static Rx literalValue(JsonNode v) {
        try {
            return Rx.literal(JSON.writeValueAsString(v));
        } catch (JsonProcessingException e) {
            throw new ConstraintException("cannot write " + v);
        }
    }

    /** Any JSON value with up to {@code depth} levels of nesting below it. */
    static Rx value(int depth) {
        List<Rx> options = new ArrayList<>(List.of(quoted(new Rx.Repeat(CHAR, 0, -1)), NUMBER, Rx.literal("true"),
                Rx.literal("false"), Rx.literal("null")));
        if (depth > 0) {
            options.add(object(depth - 1));
            options.add(Rx.seq(Rx.literal("["), new Rx.SepList(value(depth - 1), COMMA, 0, -1), Rx.literal("]")));
        }
        return new Rx.Alt(options);
    }

    private static Rx object(int depth) {
        return Rx.seq(Rx.literal("{"), new Rx.SepList(Rx.seq(quoted(new Rx.Repeat(CHAR, 0, -1)), COLON, value(depth)),
                COMMA, 0, -1), Rx.literal("}"));
    }
}
