package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat request's {@code chat_template_kwargs} (as vLLM accepts it): an object whose members become
 * variables of the chat template, e.g. {@code {"enable_thinking": false}} for Qwen 3. Bounded, since
 * the template may walk it: at most {@link #MAX_KEYS} members, {@link #MAX_VALUES} values in all and
 * {@link #MAX_DEPTH} levels of nesting; names are non-empty and may not replace the variables the
 * server sets ({@link ChatTemplate#RESERVED_VARIABLES}). Every refusal is a 400 naming the member.
 */
final class ChatTemplateKwargs {
    static final String FIELD = "chat_template_kwargs";
    static final int MAX_KEYS = 64;
    static final int MAX_VALUES = 10_000;
    static final int MAX_DEPTH = 16;
    static final int MAX_NAME_CHARS = 256;

    private ChatTemplateKwargs() {
    }

    /** The variables, or an empty map when the field is absent or null. */
    static Map<String, Object> parse(JsonNode body) {
        JsonNode v = body.get(FIELD);
        if (v == null || v.isNull()) {
            return Map.of();
        }
        if (!v.isObject()) {
            throw Fields.wrongType(FIELD, "an object", v);
        }
        if (v.size() > MAX_KEYS) {
            throw ApiException.badParam(FIELD, "'" + FIELD + "' may have at most " + MAX_KEYS + " members, got "
                    + v.size());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        int[] budget = {MAX_VALUES};
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            String name = e.getKey();
            String where = FIELD + "." + name;
            if (name.isEmpty() || name.length() > MAX_NAME_CHARS) {
                throw ApiException.badParam(FIELD, "the names in '" + FIELD + "' must have 1 to " + MAX_NAME_CHARS
                        + " characters");
            }
            if (ChatTemplate.RESERVED_VARIABLES.contains(name)) {
                throw ApiException.badParam(where, "'" + where + "' is set by the server and cannot be replaced"
                        + (name.equals("add_generation_prompt") ? " (use the request field 'add_generation_prompt')"
                        : ""));
            }
            out.put(name, value(e.getValue(), where, 1, budget));
        }
        return out;
    }

    private static Object value(JsonNode v, String where, int depth, int[] budget) {
        if (--budget[0] < 0) {
            throw ApiException.badParam(FIELD, "'" + FIELD + "' may hold at most " + MAX_VALUES + " values");
        }
        if (depth > MAX_DEPTH) {
            throw ApiException.badParam(where, "'" + FIELD + "' may nest at most " + MAX_DEPTH + " levels");
        }
        if (v.isNull()) {
            return null;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isIntegralNumber()) {
            if (!v.canConvertToLong()) {
                throw ApiException.badParam(where, "'" + where + "' is an integer beyond 64 bits");
            }
            return v.longValue();
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isArray()) {
            List<Object> list = new ArrayList<>(v.size());
            for (int i = 0; i < v.size(); i++) {
                list.add(value(v.get(i), where + "[" + i + "]", depth + 1, budget));
            }
            return list;
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            map.put(e.getKey(), value(e.getValue(), where + "." + e.getKey(), depth + 1, budget));
        }
        return map;
    }
}
