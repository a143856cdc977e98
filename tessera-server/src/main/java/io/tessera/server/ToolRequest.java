package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.structured.ConstraintException;
import io.tessera.core.structured.Constraints;
import io.tessera.core.structured.Rx;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, checked:
 * at most {@link #MAX_TOOLS} functions with distinct names of {@code [A-Za-z0-9_-]{1,64}}, each with
 * an optional object {@code parameters} schema; {@code tool_choice} {@code none}, {@code auto},
 * {@code required} or {@code {"type": "function", "function": {"name": ...}}} naming one of them.
 *
 * <p>{@code required} and a named function are enforced by constrained decoding: the reply must
 * be the tool-call syntax of the model's template ({@link ToolCallSyntax}) around arguments that
 * follow the function's schema (for {@code required}, any of the functions; with
 * {@code parallel_tool_calls} and the Hermes syntax, one or more calls). Their schemas must then
 * be in the structured-output subset ({@link io.tessera.core.structured.JsonGrammar}); with
 * {@code auto} a schema is only shown to the model, whose reply is read for calls as written
 * ({@code parallel_tool_calls} then has no effect); with {@code none} the tools are still shown
 * (as vLLM does) and the reply is plain content.
 *
 * @param tools the functions as the chat template sees them ({@code [{"type": "function", "function":
 *     {...}}]}), or null without tools
 * @param functions the request's {@code function} objects, in order
 * @param choice {@code none}, {@code auto}, {@code required}, or the name of the function to call
 * @param syntax how the model writes calls, or null without tools
 */
record ToolRequest(List<Object> tools, List<JsonNode> functions, String choice, boolean parallel,
        ToolCallSyntax syntax) {
    /** Functions a request may offer at most (as OpenAI). */
    static final int MAX_TOOLS = 128;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();
    static final ToolRequest NONE = new ToolRequest(null, List.of(), "none", true, null);

    /** Whether the reply is to be read for tool calls. */
    boolean parsesCalls() {
        return syntax != null && !choice.equals("none");
    }

    /** Whether the reply must be tool calls (enforced by a constraint). */
    boolean forced() {
        return syntax != null && !choice.equals("none") && !choice.equals("auto");
    }

    static ToolRequest parse(JsonNode body, String template) {
        JsonNode tools = body.get("tools");
        boolean parallel = Fields.bool(body, "parallel_tool_calls", true);
        String choice = choice(body.get("tool_choice"));
        if (tools == null || tools.isNull() || (tools.isArray() && tools.isEmpty())) {
            if (!choice.equals("none") && !choice.equals("auto")) {
                throw ApiException.badParam("tool_choice", "'tool_choice' " + describe(choice)
                        + " needs 'tools'");
            }
            return NONE;
        }
        if (!tools.isArray()) {
            throw Fields.wrongType("tools", "an array of tools", tools);
        }
        if (tools.size() > MAX_TOOLS) {
            throw ApiException.badParam("tools", "'tools' may hold at most " + MAX_TOOLS + " tools, got "
                    + tools.size());
        }
        Optional<ToolCallSyntax> syntax = ToolCallSyntax.of(template);
        if (syntax.isEmpty()) {
            throw ApiException.badParam("tools", "this model's chat template does not take tools (it mentions"
                    + " neither <tool_call> nor a \"parameters\" JSON form), so tools cannot be offered to it");
        }
        List<Object> forTemplate = new ArrayList<>();
        List<JsonNode> functions = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            String where = "tools[" + i + "]";
            JsonNode t = tools.get(i);
            if (!t.isObject()) {
                throw ApiException.badParam(where, "'" + where + "' must be an object");
            }
            onlyKeys(t, where, "type", "function");
            if (!"function".equals(t.path("type").asText(null))) {
                throw ApiException.badParam(where + ".type", "'" + where + ".type' must be \"function\"");
            }
            JsonNode f = t.get("function");
            if (f == null || !f.isObject()) {
                throw ApiException.badParam(where + ".function", "'" + where + ".function' must be an object");
            }
            onlyKeys(f, where + ".function", "name", "description", "parameters", "strict");
            String name = Fields.string(f, "name", null);
            if (name == null || !NAME.matcher(name).matches()) {
                throw ApiException.badParam(where + ".function.name", "'" + where + ".function.name' must be 1 to 64"
                        + " letters, digits, underscores or dashes");
            }
            if (names.contains(name)) {
                throw ApiException.badParam(where + ".function.name", "'" + where + ".function.name' repeats the"
                        + " name '" + name + "' of tools[" + names.indexOf(name) + "]");
            }
            names.add(name);
            Fields.string(f, "description", null);
            Fields.bool(f, "strict", false);
            JsonNode params = f.get("parameters");
            if (params != null && !params.isNull() && !params.isObject()) {
                throw ApiException.badParam(where + ".function.parameters", "'" + where + ".function.parameters'"
                        + " must be a JSON schema object");
            }
            if (params != null && params.isObject() && params.has("type")
                    && !"object".equals(params.get("type").asText())) {
                throw ApiException.badParam(where + ".function.parameters.type", "'" + where
                        + ".function.parameters.type' must be \"object\" (arguments are a JSON object)");
            }
            if (params != null && params.toString().length() > StructuredOutput.MAX_SOURCE_CHARS) {
                throw ApiException.badParam(where + ".function.parameters", "'" + where + ".function.parameters'"
                        + " may have at most " + StructuredOutput.MAX_SOURCE_CHARS + " characters");
            }
            functions.add(f);
            forTemplate.add(templateForm(f));
        }
        if (!choice.equals("none") && !choice.equals("auto") && !choice.equals("required")
                && !names.contains(choice)) {
            throw ApiException.badParam("tool_choice.function.name", "'tool_choice' names the function '" + choice
                    + "', which is not among 'tools' (" + String.join(", ", names) + ")");
        }
        return new ToolRequest(forTemplate, functions, choice, parallel, syntax.get());
    }

    /**
     * A tool as templates are given it, in one order whatever the client's ({@code type}, then the
     * function's name, description and parameters), since templates print it as JSON.
     */
    private static Map<String, Object> templateForm(JsonNode f) {
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", f.get("name").asText());
        if (Fields.present(f, "description")) {
            fn.put("description", f.get("description").asText());
        }
        if (Fields.present(f, "parameters")) {
            fn.put("parameters", JSON.convertValue(f.get("parameters"), Object.class));
        }
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", fn);
        return tool;
    }

    /** The language a forced reply must be in. */
    Rx language() {
        List<Rx> calls = new ArrayList<>();
        for (int i = 0; i < functions.size(); i++) {
            JsonNode f = functions.get(i);
            String name = f.get("name").asText();
            if (!choice.equals("required") && !choice.equals(name)) {
                continue;
            }
            JsonNode params = f.get("parameters");
            String field = "tools[" + i + "].function.parameters";
            Rx arguments;
            try {
                arguments = params == null || params.isNull() ? Constraints.jsonObject()
                        : Constraints.jsonSchema(params, field);
            } catch (ConstraintException e) {
                throw ApiException.badParam(field, e.getMessage());
            }
            calls.add(syntax.call(name, arguments));
        }
        Rx one = calls.size() == 1 ? calls.getFirst() : new Rx.Alt(calls);
        return syntax.calls(one, parallel);
    }

    /** A key identifying {@link #language()} for the compiled-constraint cache. */
    String languageKey() {
        return "tools:" + syntax + ":" + choice + ":" + parallel + ":" + functions;
    }

    private static String choice(JsonNode c) {
        if (c == null || c.isNull()) {
            return "auto";
        }
        if (c.isTextual()) {
            String s = c.asText();
            if (!s.equals("none") && !s.equals("auto") && !s.equals("required")) {
                throw ApiException.badParam("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or"
                        + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got \"" + s + "\"");
            }
            return s;
        }
        if (!c.isObject() || !"function".equals(c.path("type").asText(null))) {
            throw ApiException.badParam("tool_choice", "'tool_choice' must be \"none\", \"auto\", \"required\" or"
                    + " {\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        onlyKeys(c, "tool_choice", "type", "function");
        JsonNode name = c.path("function").path("name");
        if (!name.isTextual() || !NAME.matcher(name.asText()).matches()) {
            throw ApiException.badParam("tool_choice.function.name", "'tool_choice.function.name' must name a"
                    + " function of 'tools'");
        }
        onlyKeys(c.get("function"), "tool_choice.function", "name");
        return name.asText();
    }

    private static String describe(String choice) {
        return choice.equals("required") ? "\"required\"" : "naming the function '" + choice + "'";
    }

    private static void onlyKeys(JsonNode node, String where, String... allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of(allowed).contains(k)) {
                throw ApiException.badParam(where + "." + k, "Unrecognized argument '" + where + "." + k + "'");
            }
        }
    }

    /**
     * An assistant message's {@code tool_calls} as the chat template sees them (arguments as a
     * mapping, as Hugging Face passes them), their ids added to {@code ids}.
     */
    static List<Object> messageToolCalls(JsonNode calls, String where, List<String> ids) {
        if (!calls.isArray()) {
            throw Fields.wrongType(where, "an array of tool calls", calls);
        }
        List<Object> out = new ArrayList<>();
        for (int j = 0; j < calls.size(); j++) {
            String w = where + "[" + j + "]";
            JsonNode call = calls.get(j);
            if (!call.isObject()) {
                throw ApiException.badParam(w, "'" + w + "' must be an object");
            }
            onlyKeys(call, w, "id", "type", "function");
            String id = Fields.string(call, "id", null);
            if (id == null || id.isEmpty()) {
                throw ApiException.badParam(w + ".id", "'" + w + ".id' must be a non-empty string");
            }
            if (!"function".equals(call.path("type").asText("function"))) {
                throw ApiException.badParam(w + ".type", "'" + w + ".type' must be \"function\"");
            }
            JsonNode f = call.get("function");
            if (f == null || !f.isObject()) {
                throw ApiException.badParam(w + ".function", "'" + w + ".function' must be an object");
            }
            onlyKeys(f, w + ".function", "name", "arguments");
            String name = Fields.string(f, "name", null);
            if (name == null || name.isEmpty()) {
                throw ApiException.badParam(w + ".function.name", "'" + w + ".function.name' must be a non-empty"
                        + " string");
            }
            String args = Fields.string(f, "arguments", null);
            JsonNode parsed;
            try {
                parsed = args == null ? null : JSON.readTree(args);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                parsed = null;
            }
            if (parsed == null || !parsed.isObject()) {
                throw ApiException.badParam(w + ".function.arguments", "'" + w + ".function.arguments' must be a"
                        + " JSON object as a string");
            }
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", name);
            fn.put("arguments", JSON.convertValue(parsed, Object.class));
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("id", id);
            c.put("type", "function");
            c.put("function", fn);
            out.add(c);
            ids.add(id);
        }
        return out;
    }
}
