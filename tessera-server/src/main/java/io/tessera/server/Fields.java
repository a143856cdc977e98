package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of a request's JSON fields: a field of the wrong type is a 400 naming the field, as
 * OpenAI answers; an absent or null field gives the default.
 */
final class Fields {

    private Fields() {
    }

    static boolean present(JsonNode body, String name) {
        JsonNode v = body.get(name);
        return v != null && !v.isNull();
    }

    static String string(JsonNode body, String name, String def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isTextual()) {
            throw wrongType(name, "a string", v);
        }
        return v.asText();
    }

    static Integer integer(JsonNode body, String name, Integer def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            if (v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) && Math.abs(v.asDouble()) < Integer.MAX_VALUE) {
                return (int) v.asDouble();
            }
            throw wrongType(name, "an integer", v);
        }
        return v.asInt();
    }

    static Long longValue(JsonNode body, String name, Long def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw wrongType(name, "an integer", v);
        }
        return v.asLong();
    }

    static Double number(JsonNode body, String name, Double def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isNumber()) {
            throw wrongType(name, "a number", v);
        }
        return v.asDouble();
    }

    static boolean bool(JsonNode body, String name, boolean def) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return def;
        }
        if (!v.isBoolean()) {
            throw wrongType(name, "a boolean", v);
        }
        return v.asBoolean();
    }

    static JsonNode object(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw wrongType(name, "an object", v);
        }
        return v;
    }

    /** A string or an array of strings (as {@code stop}); empty when absent. */
    static List<String> stringOrStrings(JsonNode body, String name) {
        JsonNode v = body.get(name);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual()) {
            out.add(v.asText());
            return out;
        }
        if (!v.isArray()) {
            throw wrongType(name, "a string or an array of strings", v);
        }
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw wrongType(name, "a string or an array of strings", v);
            }
            out.add(e.asText());
        }
        return out;
    }

    static int[] intArray(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return new int[0];
        }
        if (!v.isArray()) {
            throw wrongType(name, "an array of integers", v);
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).canConvertToInt() || !v.get(i).isIntegralNumber()) {
                throw wrongType(name, "an array of integers", v);
            }
            out[i] = v.get(i).asInt();
        }
        return out;
    }

    static ApiException wrongType(String name, String expected, JsonNode got) {
        return ApiException.badParam(name, "'" + name + "' must be " + expected + ", got " + describe(got));
    }

    private static String describe(JsonNode v) {
        if (v.isTextual()) {
            return "a string";
        }
        if (v.isBoolean()) {
            return "a boolean";
        }
        if (v.isNumber()) {
            return "the number " + v.asText();
        }
        if (v.isArray()) {
            return "an array";
        }
        if (v.isObject()) {
            return "an object";
        }
        return v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
