package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tool-call syntaxes read back, whole and delta by delta: however the text is cut into
 * deltas, the pieces add up to the same content, names and arguments, and a call's name comes
 * before its arguments.
 */
class ToolCallParserTest {

    /** Content, and per call "name(arguments)", from pieces. */
    record Read(String content, List<String> calls) {
    }

    static Read read(List<ToolCallParser.Piece> pieces) {
        StringBuilder content = new StringBuilder();
        List<String> names = new ArrayList<>();
        List<StringBuilder> args = new ArrayList<>();
        for (ToolCallParser.Piece p : pieces) {
            switch (p) {
                case ToolCallParser.Content c -> content.append(c.text());
                case ToolCallParser.CallStart s -> {
                    assertEquals(names.size(), s.index(), "calls are numbered in order");
                    assertTrue(s.id().startsWith("call_"), s.id());
                    names.add(s.name());
                    args.add(new StringBuilder());
                }
                case ToolCallParser.Arguments a -> args.get(a.index()).append(a.text());
            }
        }
        List<String> calls = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            calls.add(names.get(i) + "(" + args.get(i) + ")");
        }
        return new Read(content.toString(), calls);
    }

    /** Reads the text whole, then cut after every position and in 3-character deltas: all agree. */
    static Read readEveryWay(ToolCallSyntax syntax, String text) {
        Read whole = read(ToolCallParser.parseAll(syntax, text));
        for (int cut = 0; cut <= text.length(); cut++) {
            ToolCallParser p = new ToolCallParser(syntax);
            List<ToolCallParser.Piece> pieces = new ArrayList<>(p.feed(text.substring(0, cut)));
            pieces.addAll(p.feed(text.substring(cut)));
            pieces.addAll(p.finish());
            assertEquals(whole, read(pieces), "cut at " + cut);
        }
        ToolCallParser p = new ToolCallParser(syntax);
        List<ToolCallParser.Piece> pieces = new ArrayList<>();
        for (int i = 0; i < text.length(); i += 3) {
            pieces.addAll(p.feed(text.substring(i, Math.min(text.length(), i + 3))));
        }
        pieces.addAll(p.finish());
        assertEquals(whole, read(pieces), "3-character deltas");
        return whole;
    }

    @Test
    void hermesCallsAfterContent() {
        String text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"a}b\","
                + " \"n\": {\"x\": 1}}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n"
                + "</tool_call>";
        Read r = readEveryWay(ToolCallSyntax.HERMES, text);
        assertEquals("Let me check.\n\n", r.content());
        assertEquals(List.of("get_weather({\"city\": \"a}b\", \"n\": {\"x\": 1}})", "get_time({})"), r.calls());
    }

    @Test
    void argumentsStreamBeforeTheCallCloses() {
        ToolCallParser p = new ToolCallParser(ToolCallSyntax.HERMES);
        List<ToolCallParser.Piece> head = p.feed("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": ");
        assertEquals("f", ((ToolCallParser.CallStart) head.getFirst()).name());
        assertEquals(new ToolCallParser.Arguments(0, "{\"a\": "), head.getLast());
        assertEquals(List.of(new ToolCallParser.Arguments(0, "\"x}y\", \"b\": 1")), p.feed("\"x}y\", \"b\": 1"));
        // a '}' that may be the call's own waits for what follows it
        assertEquals(List.of(new ToolCallParser.Arguments(0, "}")), p.feed("}}\n</tool"));
        assertEquals(List.of(), p.feed("_call>"));
        assertEquals(1, p.calls());
        assertEquals(List.of(new ToolCallParser.Content(" done")), p.feed(" done"));
    }

    @Test
    void hermesTextThatIsNotACallStaysContent() {
        String text = "a <tool_ b <tool_call>not json</tool_call> c";
        Read r = readEveryWay(ToolCallSyntax.HERMES, text);
        assertEquals(text, r.content());
        assertEquals(List.of(), r.calls());
    }

    @Test
    void hermesCallCutShortKeepsWhatCame() {
        Read r = readEveryWay(ToolCallSyntax.HERMES, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, 2");
        assertEquals(List.of("f({\"a\": [1, 2)"), r.calls());
        assertEquals("", r.content());
    }

    @Test
    void llamaJsonReplyIsOneCall() {
        Read r = readEveryWay(ToolCallSyntax.LLAMA3_JSON,
                " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Zürich\"}}");
        assertEquals(List.of("get_weather({\"city\": \"Zürich\"})"), r.calls());
        assertEquals("", r.content());
        Read tagged = readEveryWay(ToolCallSyntax.LLAMA3_JSON,
                "<|python_tag|>{\"name\": \"f\", \"parameters\": {}}");
        assertEquals(List.of("f({})"), tagged.calls());
    }

    @Test
    void llamaPlainReplyIsContent() {
        for (String text : List.of("It is sunny {really}.", "{\"answer\": 42}", "<|python_ta", "")) {
            Read r = readEveryWay(ToolCallSyntax.LLAMA3_JSON, text);
            assertEquals(text, r.content());
            assertEquals(List.of(), r.calls());
        }
    }

    @Test
    void syntaxComesFromTheTemplate() throws Exception {
        assertEquals(ToolCallSyntax.HERMES,
                ToolCallSyntax.of(ChatTemplateParityTest.fromNpm("qwen3",
                        io.tessera.core.tokenizer.NpmTokenizers.qwen3()).source()).orElseThrow());
        assertEquals(ToolCallSyntax.LLAMA3_JSON,
                ToolCallSyntax.of(ChatTemplateParityTest.resource("llama3.1.jinja")).orElseThrow());
        assertTrue(ToolCallSyntax.of(ChatTemplate.FALLBACK).isEmpty());
        assertTrue(ToolCallSyntax.of(ChatTemplateParityTest.resource("llama2.jinja")).isEmpty());
    }
}
