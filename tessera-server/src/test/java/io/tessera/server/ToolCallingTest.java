package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.ChatModel;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.tessera.core.tokenizer.NpmTokenizers;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tool calling end to end with the official OpenAI Java SDK, on synthetic Qwen-3- and
 * Llama-3-shaped models with the real tokenizers and templates (Qwen 3's, which teaches the
 * Hermes {@code <tool_call>} syntax; Llama 3.1's, which teaches the JSON form). The weights are
 * random: {@code tool_choice} required or named makes the reply a tool call by constrained
 * decoding, so every call's arguments validate against the function's schema; streamed calls
 * accumulate to the same call; a tool's result renders into the next turn as Jinja2 renders it;
 * malformed tools and tool messages are 400s naming the field.
 */
class ToolCallingTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    @TempDir
    static Path dir;

    static RealTokenizerChatTest.Served qwen;
    static RealTokenizerChatTest.Served llama31;
    /** Llama 3's npm template, which takes no tools. */
    static RealTokenizerChatTest.Served llama3;

    static final String WEATHER_SCHEMA = """
            {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Zürich", "Tokyo"]},
             "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"},
             "detailed": {"type": "boolean"}}, "required": ["city", "unit"], "additionalProperties": false}""";
    static final String TIME_SCHEMA = """
            {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"],
             "additionalProperties": false}""";

    @BeforeAll
    static void start() throws Exception {
        qwen = qwenWithTools(dir, "qwen3-tools");
        List<Integer> llamaEos = List.of(RealTokenizerChatTest.LLAMA_END_OF_TEXT, RealTokenizerChatTest.LLAMA_EOT);
        Path plain = RealTokenizerChatTest.checkpoint(dir, "llama3", "llama-3.2-1b", NpmTokenizers.llama3(), true,
                null, 0, 128000, llamaEos);
        llama3 = RealTokenizerChatTest.serve("llama3-tools", plain, null);
        // the same tokenizer with Llama 3.1's template, which takes tools
        Path withTools = RealTokenizerChatTest.checkpoint(dir, "llama31", "llama-3.2-1b", NpmTokenizers.llama3(),
                true, null, 0, 128000, llamaEos);
        ObjectNode config = (ObjectNode) JSON.readTree(Files.readString(withTools.resolve("tokenizer_config.json")));
        config.put("chat_template", ChatTemplateParityTest.resource("llama3.1.jinja"));
        Files.writeString(withTools.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
        llama31 = RealTokenizerChatTest.serve("llama31-tools", withTools, llama3.loaded());
    }

    /**
     * A synthetic Qwen-3-shaped model (random weights) with Qwen 3's real tokenizer and template,
     * which takes tools, written under {@code dir} and served as {@code name}.
     */
    static RealTokenizerChatTest.Served qwenWithTools(Path dir, String name) throws Exception {
        return RealTokenizerChatTest.serve(name, RealTokenizerChatTest.checkpoint(dir, "qwen3", "qwen3-0.6b",
                NpmTokenizers.qwen3(), true, null, 0, RealTokenizerChatTest.QWEN_ENDOFTEXT,
                List.of(RealTokenizerChatTest.QWEN_IM_END, RealTokenizerChatTest.QWEN_ENDOFTEXT)), null);
    }

    @AfterAll
    static void stop() {
        for (var s : new RealTokenizerChatTest.Served[] {qwen, llama31, llama3}) {
            if (s != null) {
                s.close();
            }
        }
    }

    static FunctionDefinition function(String name, String description, String schema) throws Exception {
        FunctionParameters.Builder p = FunctionParameters.builder();
        JSON.readTree(schema).fields().forEachRemaining(e -> p.putAdditionalProperty(e.getKey(),
                JsonValue.fromJsonNode(e.getValue())));
        return FunctionDefinition.builder().name(name).description(description).parameters(p.build()).build();
    }

    static ChatCompletionCreateParams.Builder weatherChat(RealTokenizerChatTest.Served s) throws Exception {
        return ChatCompletionCreateParams.builder().model(ChatModel.of(s.name()))
                .addSystemMessage("You are a weather bot.").addUserMessage("What is the weather in Zürich?")
                .addFunctionTool(function("get_weather", "The weather in a city", WEATHER_SCHEMA))
                .addFunctionTool(function("get_time", "The time in a zone", TIME_SCHEMA))
                .maxCompletionTokens(200);
    }

    static String schemaOf(String name) {
        return name.equals("get_weather") ? WEATHER_SCHEMA : TIME_SCHEMA;
    }

    static void assertValid(String name, String arguments) throws Exception {
        Schema validator = REGISTRY.getSchema(JSON.readTree(schemaOf(name)));
        assertEquals(List.of(), validator.validate(JSON.readTree(arguments)), name + " " + arguments);
    }

    @Test
    void requiredChoiceGivesACallWhoseArgumentsFollowTheSchema() throws Exception {
        int validated = 0;
        for (var s : List.of(qwen, llama31)) {
            for (long seed = 1; seed <= 3; seed++) {
                ChatCompletion c = s.client().chat().completions().create(weatherChat(s)
                        .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).parallelToolCalls(false)
                        .seed(seed).temperature(1.0).build());
                var choice = c.choices().getFirst();
                assertEquals("tool_calls", choice.finishReason().asString(), s.name() + " seed " + seed);
                var calls = choice.message().toolCalls().orElseThrow();
                assertEquals(1, calls.size());
                ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
                assertTrue(call.id().startsWith("call_"), call.id());
                assertTrue(List.of("get_weather", "get_time").contains(call.function().name()));
                assertValid(call.function().name(), call.function().arguments());
                assertTrue(choice.message().content().isEmpty(), s.name());
                validated++;
            }
        }
        assertEquals(6, validated);
    }

    @Test
    void aNamedChoiceStreamsNameFirstThenArgumentsAndAccumulates() throws Exception {
        for (var s : List.of(qwen, llama31)) {
            ChatCompletionCreateParams p = weatherChat(s).toolChoice(ChatCompletionNamedToolChoice.builder()
                    .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build())
                    .seed(7L).temperature(1.0).parallelToolCalls(false).build();
            ChatCompletion whole = s.client().chat().completions().create(p);
            var wholeCall = whole.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
            assertEquals("get_weather", wholeCall.function().name());
            assertValid("get_weather", wholeCall.function().arguments());

            ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
            List<ChatCompletionChunk.Choice.Delta.ToolCall> deltas = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> st = s.client().chat().completions().createStreaming(p)) {
                st.stream().forEach(chunk -> {
                    acc.accumulate(chunk);
                    chunk.choices().forEach(ch -> ch.delta().toolCalls().ifPresent(deltas::addAll));
                });
            }
            // as OpenAI streams: the first delta has the id and name, the arguments come in several pieces
            assertTrue(deltas.getFirst().id().isPresent(), s.name());
            assertEquals("get_weather", deltas.getFirst().function().orElseThrow().name().orElseThrow());
            long argumentPieces = deltas.stream().filter(d -> d.function().flatMap(
                    ChatCompletionChunk.Choice.Delta.ToolCall.Function::arguments).filter(a -> !a.isEmpty())
                    .isPresent()).count();
            assertTrue(argumentPieces > 1, s.name() + ": " + argumentPieces + " argument pieces");
            assertTrue(deltas.stream().allMatch(d -> d.index() == 0));
            ChatCompletion streamed = acc.chatCompletion();
            assertEquals("tool_calls", streamed.choices().getFirst().finishReason().asString());
            var call = streamed.choices().getFirst().message().toolCalls().orElseThrow().getFirst().asFunction();
            assertEquals("get_weather", call.function().name());
            // same seed, same tokens: the streamed call is the whole one
            assertEquals(wholeCall.function().arguments(), call.function().arguments(), s.name());
        }
    }

    @Test
    void theToolResultRendersIntoTheNextTurnAsJinja2RendersIt() throws Exception {
        for (var s : List.of(qwen, llama31)) {
            ChatCompletion first = s.client().chat().completions().create(weatherChat(s)
                    .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).parallelToolCalls(false).seed(3L)
                    .build());
            var message = first.choices().getFirst().message();
            var call = message.toolCalls().orElseThrow().getFirst().asFunction();
            ChatCompletionCreateParams next = weatherChat(s).addMessage(message)
                    .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id())
                            .content("{\"temperature\": 21}").build())
                    .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).maxCompletionTokens(3).build();
            ChatCompletion second = s.client().chat().completions().create(next);
            assertTrue(second.choices().getFirst().message().toolCalls().isEmpty());

            // the prompt is Jinja2's rendering with the tools (as templates are given them, type first,
            // whatever order the client wrote), the call (arguments as a mapping) and the result
            List<Map<String, Object>> messages = new ArrayList<>();
            messages.add(RealTokenizerChatTest.msg("system", "You are a weather bot."));
            messages.add(RealTokenizerChatTest.msg("user", "What is the weather in Zürich?"));
            Map<String, Object> assistant = RealTokenizerChatTest.msg("assistant", "");
            assistant.put("tool_calls", List.of(Map.of("id", call.id(), "type", "function", "function",
                    Map.of("name", call.function().name(), "arguments",
                            JSON.convertValue(JSON.readTree(call.function().arguments()), Object.class)))));
            messages.add(assistant);
            Map<String, Object> result = RealTokenizerChatTest.msg("tool", "{\"temperature\": 21}");
            result.put("tool_call_id", call.id());
            messages.add(result);
            List<Object> tools = List.of(tool("get_weather", "The weather in a city", WEATHER_SCHEMA),
                    tool("get_time", "The time in a zone", TIME_SCHEMA));
            int[] expected = RealTokenizerChatTest.oracleIds(s, messages, true, false, Map.of("tools", tools));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("tools", tools);
            // the tokenize endpoint takes the OpenAI form: arguments as a JSON string
            JsonNode openAiMessages = JSON.valueToTree(messages);
            ((ObjectNode) openAiMessages.get(2).get("tool_calls").get(0).get("function")).put("arguments",
                    call.function().arguments());
            body.put("messages", openAiMessages);
            int[] got = RealTokenizerChatTest.served(s, body);
            assertEquals(s.loaded().tokenizer().decode(expected), s.loaded().tokenizer().decode(got), s.name());
            assertArrayEquals(expected, got, s.name());
            assertEquals(expected.length, second.usage().orElseThrow().promptTokens(), s.name());
        }
    }

    static Map<String, Object> tool(String name, String description, String schema) throws Exception {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("name", name);
        f.put("description", description);
        f.put("parameters", JSON.convertValue(JSON.readTree(schema), Object.class));
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("type", "function");
        t.put("function", f);
        return t;
    }

    // ---------------------------------------------------------------- hostile input

    static void assertBadParam(RealTokenizerChatTest.Served s, String body, String param) throws Exception {
        HttpResponse<String> r = RealTokenizerChatTest.post(s, "/v1/chat/completions", body);
        assertEquals(400, r.statusCode(), body + " -> " + r.body());
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals(param, error.get("param").asText(), r.body());
        assertFalse(error.get("message").asText().isBlank());
    }

    static String request(String tools, String extra) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2"
                + (tools == null ? "" : ", \"tools\": " + tools) + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    static final String WEATHER_TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"parameters\": " + WEATHER_SCHEMA + "}}";

    @Test
    void malformedToolsAreRefusedNamingTheField() throws Exception {
        assertBadParam(qwen, request("{\"type\": \"function\"}", ""), "tools");
        assertBadParam(qwen, request("[{\"type\": \"retrieval\"}]", ""), "tools[0].type");
        assertBadParam(qwen, request("[{\"type\": \"function\"}]", ""), "tools[0].function");
        assertBadParam(qwen, request("[{\"type\": \"function\", \"function\": {\"name\": \"a b\"}}]", ""),
                "tools[0].function.name");
        assertBadParam(qwen, request("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"x\": 1}}]", ""),
                "tools[0].function.x");
        assertBadParam(qwen, request("[" + WEATHER_TOOL + ", " + WEATHER_TOOL + "]", ""), "tools[1].function.name");
        assertBadParam(qwen, request("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\":"
                + " [1]}}]", ""), "tools[0].function.parameters");
        assertBadParam(qwen, request("[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\":"
                + " {\"type\": \"string\"}}}]", ""), "tools[0].function.parameters.type");
        // a schema construct constrained decoding cannot follow, when the call is forced
        String unsupported = "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\":"
                + " {\"type\": \"object\", \"not\": {}}}}]";
        HttpResponse<String> r = RealTokenizerChatTest.post(qwen, "/v1/chat/completions",
                request(unsupported, "\"tool_choice\": \"required\""));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(JSON.readTree(r.body()).get("error").get("param").asText().startsWith("tools[0].function.parameters"),
                r.body());
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i <= ToolRequest.MAX_TOOLS; i++) {
            many.append(i == 0 ? "" : ", ").append("{\"type\": \"function\", \"function\": {\"name\": \"f")
                    .append(i).append("\"}}");
        }
        assertBadParam(qwen, request(many + "]", ""), "tools");
        // a template without tools
        assertBadParam(llama3, request("[" + WEATHER_TOOL + "]", ""), "tools");
    }

    @Test
    void badToolChoicesAreRefusedNamingTheField() throws Exception {
        String tools = "[" + WEATHER_TOOL + "]";
        assertBadParam(qwen, request(tools, "\"tool_choice\": \"sometimes\""), "tool_choice");
        assertBadParam(qwen, request(tools, "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\":"
                + " \"get_time\"}}"), "tool_choice.function.name");
        assertBadParam(qwen, request(null, "\"tool_choice\": \"required\""), "tool_choice");
        assertBadParam(qwen, request(tools, "\"tool_choice\": \"required\", \"response_format\": {\"type\":"
                + " \"json_object\"}"), "tool_choice");
        assertBadParam(qwen, request(tools, "\"parallel_tool_calls\": \"yes\""), "parallel_tool_calls");
    }

    @Test
    void toolMessagesMustAnswerACall() throws Exception {
        String call = "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\":"
                + " \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": %s}}]}";
        String user = "{\"role\": \"user\", \"content\": \"hi\"}";
        assertBadParam(qwen, "{\"messages\": [" + user + ", {\"role\": \"tool\", \"tool_call_id\": \"call_9\","
                + " \"content\": \"21\"}]}", "messages[1].tool_call_id");
        assertBadParam(qwen, "{\"messages\": [" + user + ", " + call.formatted("\"{\\\"city\\\": \\\"Paris\\\"}\"")
                + ", {\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": \"21\"}]}",
                "messages[2].tool_call_id");
        assertBadParam(qwen, "{\"messages\": [" + user + ", {\"role\": \"tool\", \"content\": \"21\"}]}",
                "messages[1].tool_call_id");
        assertBadParam(qwen, "{\"messages\": [" + user + ", " + call.formatted("\"{not json\"") + "]}",
                "messages[1].tool_calls[0].function.arguments");
        assertBadParam(qwen, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"tool_calls\": []}]}",
                "messages[0].tool_calls");
        // the well-formed conversation is accepted
        HttpResponse<String> ok = RealTokenizerChatTest.post(qwen, "/v1/chat/completions", "{\"max_tokens\": 1,"
                + " \"messages\": [" + user + ", " + call.formatted("\"{\\\"city\\\": \\\"Paris\\\"}\"")
                + ", {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"21\"}]}");
        assertEquals(200, ok.statusCode(), ok.body());
    }
}
