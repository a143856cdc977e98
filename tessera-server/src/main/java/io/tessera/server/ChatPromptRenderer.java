package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A chat request's {@code messages} (with their tool calls and tool results), checked and rendered
 * by the model's chat template into the prompt text.
 */
final class ChatPromptRenderer {

    private final ServedModel model;

    ChatPromptRenderer(ServedModel model) {
        this.model = model;
    }

    /** The request's tools, checked against the model's template. */
    ToolRequest toolRequest(JsonNode body) {
        return ToolRequest.parse(body, model.chatTemplate().source());
    }

    /** The chat prompt as the model's template renders it, with the request's own tools. */
    String render(JsonNode body) {
        return render(body, toolRequest(body));
    }

    String render(JsonNode body, ToolRequest tools) {
        JsonNode msgs = body.get("messages");
        if (msgs == null || msgs.isNull()) {
            throw ApiException.badParam("messages", "'messages' is required");
        }
        if (!msgs.isArray()) {
            throw Fields.wrongType("messages", "an array of messages", msgs);
        }
        if (msgs.isEmpty()) {
            throw ApiException.badParam("messages", "'messages' must not be empty");
        }
        List<Map<String, Object>> messages = new ArrayList<>();
        List<String> callIds = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.badParam(where, "'" + where + "' must be an object");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.badParam(where + ".role", "'" + where + ".role' must be a string");
            }
            String r = role.asText();
            if (!Set.of("system", "developer", "user", "assistant", "tool").contains(r)) {
                throw ApiException.badParam(where + ".role", "unknown role '" + r
                        + "' (expected system, developer, user, assistant or tool)");
            }
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", r.equals("developer") ? "system" : r);
            msg.put("content", content(m.get("content"), where + ".content"));
            if (m.hasNonNull("name") && m.get("name").isTextual()) {
                msg.put("name", m.get("name").asText());
            }
            toolFields(m, r, where, msg, callIds);
            messages.add(msg);
        }
        boolean continueFinal = Fields.bool(body, "continue_final_message", false);
        boolean addGenerationPrompt = Fields.bool(body, "add_generation_prompt", !continueFinal);
        if (continueFinal && addGenerationPrompt) {
            throw ApiException.badParam("continue_final_message", "'continue_final_message' and"
                    + " 'add_generation_prompt' cannot both be true");
        }
        Map<String, Object> variables = ChatTemplateKwargs.parse(body);
        return model.chatTemplate().render(messages, addGenerationPrompt, continueFinal, variables, tools.tools());
    }

    /**
     * An assistant message's {@code tool_calls} and a tool message's {@code tool_call_id}, which
     * must answer a call made earlier in the conversation.
     */
    private static void toolFields(JsonNode m, String role, String where, Map<String, Object> msg,
            List<String> callIds) {
        JsonNode calls = m.get("tool_calls");
        if (calls != null && !calls.isNull()) {
            if (!role.equals("assistant")) {
                throw ApiException.badParam(where + ".tool_calls", "'" + where + ".tool_calls' is only allowed in"
                        + " assistant messages");
            }
            if (!calls.isEmpty()) {
                msg.put("tool_calls", ToolRequest.messageToolCalls(calls, where + ".tool_calls", callIds));
            }
        }
        if (role.equals("tool")) {
            String id = Fields.string(m, "tool_call_id", null);
            if (id == null) {
                throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' is required in"
                        + " tool messages");
            }
            if (!callIds.contains(id)) {
                throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' '" + id
                        + "' answers no tool call of an earlier assistant message");
            }
            msg.put("tool_call_id", id);
        } else if (Fields.present(m, "tool_call_id")) {
            throw ApiException.badParam(where + ".tool_call_id", "'" + where + ".tool_call_id' is only allowed in"
                    + " tool messages");
        }
    }

    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badParam(where, "only text content parts are supported in '" + where + "'");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.badParam(where, "'" + where + "' must be a string or an array of text parts");
    }
}
