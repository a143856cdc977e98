package io.tessera.server;

import io.tessera.core.structured.Rx;
import java.util.Optional;

/**
 * How a model writes a tool call, chosen from its chat template's text (the template teaches the
 * model the syntax, so it is the one place that says which the model was trained on):
 * <ul>
 *   <li>{@link #HERMES} — Qwen 2.5/3, Hermes and others: the template mentions {@code <tool_call>};
 *       each call is {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}, several
 *       may follow each other, text may come before them.</li>
 *   <li>{@link #LLAMA3_JSON} — Llama 3.1-3.3: the template asks for
 *       {@code {"name": function name, "parameters": dictionary ...}}; the whole reply is one JSON
 *       object {@code {"name": ..., "parameters": {...}}} (optionally after {@code <|python_tag|>}).</li>
 * </ul>
 * A template that mentions neither does not take tools, and a request with tools is refused.
 */
enum ToolCallSyntax {
    HERMES("<tool_call>", "</tool_call>", "arguments"),
    LLAMA3_JSON("", "", "parameters");

    /** Text opening a call ({@code ""}: the reply itself is the call). */
    final String open;
    /** Text closing a call ({@code ""}: the end of the reply closes it). */
    final String close;
    /** The key the model writes the arguments under. */
    final String argumentsKey;

    ToolCallSyntax(String open, String close, String argumentsKey) {
        this.open = open;
        this.close = close;
        this.argumentsKey = argumentsKey;
    }

    /** The syntax a chat template teaches, if it takes tools at all. */
    static Optional<ToolCallSyntax> of(String template) {
        if (template.contains("<tool_call>")) {
            return Optional.of(HERMES);
        }
        if (template.contains("tools") && template.contains("\"parameters\"")) {
            return Optional.of(LLAMA3_JSON);
        }
        return Optional.empty();
    }

    /** The text of one call of a function whose arguments are {@code arguments}, as this syntax writes it. */
    Rx call(String name, Rx arguments) {
        // names are [A-Za-z0-9_-] (checked by ToolRequest), so they need no JSON escaping
        String head = "{\"name\": \"" + name + "\", \"" + argumentsKey + "\": ";
        return this == HERMES
                ? Rx.seq(Rx.literal(open + "\n" + head), arguments, Rx.literal("}\n" + close))
                : Rx.seq(Rx.literal(head), arguments, Rx.literal("}"));
    }

    /** One call or, where the syntax allows several, one or more separated by a newline. */
    Rx calls(Rx oneCall, boolean parallel) {
        return parallel && this == HERMES ? new Rx.SepList(oneCall, Rx.literal("\n"), 1, -1) : oneCall;
    }
}
