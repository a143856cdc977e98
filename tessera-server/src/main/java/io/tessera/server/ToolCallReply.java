package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole reply as OpenAI's {@code message}: its content and its {@code tool_calls}. A reply is
 * read as calls only when every call in it names one of the request's functions and has a JSON
 * object for arguments; otherwise it is all content, as written, so that nothing the model wrote
 * is lost.
 */
record ToolCallReply(String content, List<Call> calls) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One call: its id, the function's name, the arguments as JSON text. */
    record Call(String id, String name, String arguments) {
    }

    static ToolCallReply text(String text) {
        return new ToolCallReply(text, List.of());
    }

    static ToolCallReply read(ToolRequest tools, String text) {
        StringBuilder content = new StringBuilder();
        Map<Integer, String[]> calls = new LinkedHashMap<>(); // index -> id, name, arguments
        for (ToolCallParser.Piece p : ToolCallParser.parseAll(tools.syntax(), text)) {
            switch (p) {
                case ToolCallParser.Content c -> content.append(c.text());
                case ToolCallParser.CallStart s -> calls.put(s.index(), new String[] {s.id(), s.name(), ""});
                case ToolCallParser.Arguments a -> calls.get(a.index())[2] += a.text();
            }
        }
        List<Call> list = new ArrayList<>();
        for (String[] c : calls.values()) {
            if (!isObject(c[2]) || tools.functions().stream().noneMatch(f -> f.get("name").asText().equals(c[1]))) {
                return text(text);
            }
            list.add(new Call(c[0], c[1], c[2]));
        }
        return new ToolCallReply(content.toString().strip(), list);
    }

    private static boolean isObject(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            return n != null && n.isObject();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return false;
        }
    }

    void putCalls(ArrayNode out) {
        for (Call c : calls) {
            ObjectNode o = out.addObject();
            o.put("id", c.id());
            o.put("type", "function");
            ObjectNode f = o.putObject("function");
            f.put("name", c.name());
            f.put("arguments", c.arguments());
        }
    }

    /**
     * A streamed delta from parsed pieces, as OpenAI streams calls: {@code content} for text;
     * {@code tool_calls} entries by index, a call's first with its id, type and name.
     */
    static void putDelta(ObjectNode delta, List<ToolCallParser.Piece> pieces) {
        StringBuilder content = new StringBuilder();
        Map<Integer, ObjectNode> entries = new LinkedHashMap<>();
        for (ToolCallParser.Piece p : pieces) {
            switch (p) {
                case ToolCallParser.Content c -> content.append(c.text());
                case ToolCallParser.CallStart s -> {
                    ObjectNode e = entry(entries, s.index());
                    e.put("id", s.id());
                    e.put("type", "function");
                    e.with("function").put("name", s.name()).put("arguments", "");
                }
                case ToolCallParser.Arguments a -> {
                    ObjectNode f = entry(entries, a.index()).with("function");
                    f.put("arguments", f.path("arguments").asText("") + a.text());
                }
            }
        }
        if (!content.isEmpty()) {
            delta.put("content", content.toString());
        }
        if (!entries.isEmpty()) {
            ArrayNode calls = delta.putArray("tool_calls");
            entries.values().forEach(calls::add);
        }
    }

    private static ObjectNode entry(Map<Integer, ObjectNode> entries, int index) {
        return entries.computeIfAbsent(index, i -> {
            ObjectNode e = JSON.createObjectNode();
            e.put("index", i);
            return e;
        });
    }
}
