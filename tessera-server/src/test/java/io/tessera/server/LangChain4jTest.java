package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import io.tessera.core.tokenizer.NpmTokenizers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * langchain4j's AiServices against a running Tessera server, as an agent framework uses it: an
 * interface with a {@code @Tool} method over {@code OpenAiChatModel}, and a method returning a
 * record (langchain4j sends a JSON-schema {@code response_format}). The model is a synthetic
 * Qwen-3-shaped one (random weights, the real tokenizer and chat template): it does not choose
 * tools sensibly, so a request transformer asks for {@code tool_choice: required} on the user's
 * turn and {@code none} once a tool result is in the conversation. What the test proves is the
 * round trip: the call parsed into langchain4j's tool request with valid arguments, the tool
 * executed, the tool-result turn accepted by the server, the final answer returned.
 */
class LangChain4jTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    @TempDir
    static Path dir;

    static RealTokenizerChatTest.Served qwen;

    @BeforeAll
    static void start() throws Exception {
        qwen = RealTokenizerChatTest.serve("qwen3-langchain4j", RealTokenizerChatTest.checkpoint(dir, "qwen3",
                "qwen3-0.6b", NpmTokenizers.qwen3(), true, null, 0, RealTokenizerChatTest.QWEN_ENDOFTEXT,
                List.of(RealTokenizerChatTest.QWEN_IM_END, RealTokenizerChatTest.QWEN_ENDOFTEXT)), null);
    }

    @AfterAll
    static void stop() {
        if (qwen != null) {
            qwen.close();
        }
    }

    enum City { PARIS, ZURICH, TOKYO }

    enum Unit { CELSIUS, FAHRENHEIT }

    /** The tool the assistant may call; remembers its calls. */
    static final class WeatherTools {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());

        @Tool("The current weather in a city")
        String weather(@P("the city") City city, @P("the temperature unit") Unit unit) {
            calls.add(city + " " + unit);
            return "{\"city\": \"" + city + "\", \"temperature\": 21, \"unit\": \"" + unit + "\", \"sky\": \"clear\"}";
        }
    }

    interface Assistant {
        String chat(String question);
    }

    record Forecast(City city, Unit unit, Boolean sunny) {
    }

    interface Forecaster {
        Forecast forecast(String question);
    }

    /** Every request langchain4j sends and every response it gets, as its listener sees them. */
    static final class Recorder implements ChatModelListener {
        final List<ChatRequest> requests = Collections.synchronizedList(new ArrayList<>());
        final List<ChatResponse> responses = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onRequest(ChatModelRequestContext context) {
            requests.add(context.chatRequest());
        }

        @Override
        public void onResponse(ChatModelResponseContext context) {
            responses.add(context.chatResponse());
        }
    }

    static OpenAiChatModel.OpenAiChatModelBuilder model(int seed, Recorder recorder) {
        return OpenAiChatModel.builder().baseUrl(qwen.url() + "/v1").apiKey("unused").modelName(qwen.name())
                .temperature(1.0).seed(seed).maxTokens(MAX_TOKENS).timeout(Duration.ofSeconds(120))
                .listeners(recorder);
    }

    /** Enough for a call spelled in short tokens (random weights pick any tokenization of it). */
    static final int MAX_TOKENS = 300;
    /** The final answer is the random model's free text: a few tokens show it came back. */
    static final int ANSWER_TOKENS = 16;

    /**
     * tool_choice required on the user's turn, none (and a short answer) once a tool's result is
     * there to answer from.
     */
    static ChatRequest steerTools(ChatRequest request) {
        if (request.toolSpecifications() == null || request.toolSpecifications().isEmpty()) {
            return request;
        }
        ChatMessage last = request.messages().get(request.messages().size() - 1);
        boolean answer = last instanceof ToolExecutionResultMessage;
        ChatRequestParameters steer = ChatRequestParameters.builder()
                .toolChoice(answer ? ToolChoice.NONE : ToolChoice.REQUIRED)
                .maxOutputTokens(answer ? ANSWER_TOKENS : MAX_TOKENS).build();
        return ChatRequest.builder().messages(request.messages()).parameters(request.parameters().overrideWith(steer))
                .build();
    }

    @Test
    void aiServiceCallsTheToolAndAnswers() throws Exception {
        for (int seed = 1; seed <= 3; seed++) {
            Recorder recorder = new Recorder();
            WeatherTools tools = new WeatherTools();
            // one call per turn: with parallel calls allowed, random weights may keep adding calls
            Assistant assistant = AiServices.builder(Assistant.class)
                    .chatModel(model(seed, recorder).parallelToolCalls(false).build())
                    .tools(tools).chatRequestTransformer(LangChain4jTest::steerTools).build();

            String answer = assistant.chat("What is the weather in Zürich?");

            // the first turn was a tool call, parsed into langchain4j's request with arguments valid
            // against the parameters' schema langchain4j sent (its names arg0, arg1: no -parameters)
            assertTrue(recorder.responses.size() >= 2, "a tool turn and an answer turn: " + recorder.responses);
            ToolSpecification spec = recorder.requests.get(0).toolSpecifications().get(0);
            Schema arguments = REGISTRY.getSchema(JSON.valueToTree(JsonSchemaElementUtils.toMap(spec.parameters())));
            List<String> names = List.copyOf(spec.parameters().properties().keySet());
            ChatResponse first = recorder.responses.get(0);
            assertEquals(FinishReason.TOOL_EXECUTION, first.finishReason(), first.toString());
            List<ToolExecutionRequest> calls = first.aiMessage().toolExecutionRequests();
            assertEquals(1, calls.size(), first.toString());
            for (ToolExecutionRequest call : calls) {
                assertEquals("weather", call.name());
                assertFalse(call.id() == null || call.id().isBlank(), call.toString());
                JsonNode args = JSON.readTree(call.arguments());
                assertEquals(List.of(), arguments.validate(args), call.arguments());
            }
            // the tool ran once per call, with the arguments the server returned
            assertEquals(calls.size(), tools.calls.size());
            for (int i = 0; i < calls.size(); i++) {
                JsonNode args = JSON.readTree(calls.get(i).arguments());
                assertEquals(args.get(names.get(0)).asText() + " " + args.get(names.get(1)).asText(),
                        tools.calls.get(i));
            }
            // the tool results went back (one message per call, answering its id) and were accepted
            ChatRequest second = recorder.requests.get(1);
            List<ToolExecutionResultMessage> results = second.messages().stream()
                    .filter(m -> m instanceof ToolExecutionResultMessage).map(m -> (ToolExecutionResultMessage) m)
                    .toList();
            assertEquals(calls.size(), results.size());
            for (int i = 0; i < calls.size(); i++) {
                assertEquals(calls.get(i).id(), results.get(i).id());
                assertTrue(results.get(i).text().contains("\"temperature\": 21"), results.get(i).text());
            }
            assertEquals(ToolChoice.NONE, second.toolChoice());
            // and the final answer is the server's text for that turn
            ChatResponse last = recorder.responses.get(recorder.responses.size() - 1);
            assertEquals(2, recorder.responses.size(), "no further tool turn after tool_choice none");
            assertTrue(last.aiMessage().toolExecutionRequests() == null
                    || last.aiMessage().toolExecutionRequests().isEmpty(), last.toString());
            assertNotNull(answer);
            assertEquals(last.aiMessage().text(), answer);
            assertFalse(answer.isEmpty(), "seed " + seed);
        }
    }

    @Test
    void aiServiceReturnsARecordThroughAJsonSchemaResponseFormat() throws Exception {
        for (int seed = 1; seed <= 3; seed++) {
            Recorder recorder = new Recorder();
            Forecaster forecaster = AiServices.create(Forecaster.class, model(seed, recorder)
                    .supportedCapabilities(Capability.RESPONSE_FORMAT_JSON_SCHEMA).strictJsonSchema(true).build());

            Forecast forecast = forecaster.forecast("Tomorrow's weather in Tokyo?");

            // langchain4j sent the record's schema as response_format json_schema ...
            ChatRequest request = recorder.requests.get(0);
            assertEquals(ResponseFormatType.JSON, request.responseFormat().type());
            assertNotNull(request.responseFormat().jsonSchema(), request.toString());
            // ... and the server's text is valid against it (as sent: strict), and became the record
            Schema forecastSchema = REGISTRY.getSchema(JSON.valueToTree(JsonSchemaElementUtils.toMap(
                    request.responseFormat().jsonSchema().rootElement(), true)));
            assertEquals(List.of("city", "unit", "sunny"), List.copyOf(((JsonObjectSchema) request.responseFormat()
                    .jsonSchema().rootElement()).properties().keySet()));
            String text = recorder.responses.get(0).aiMessage().text();
            assertEquals(List.of(), forecastSchema.validate(JSON.readTree(text)), text);
            assertInstanceOf(City.class, forecast.city(), text);
            assertInstanceOf(Unit.class, forecast.unit(), text);
            JsonNode parsed = JSON.readTree(text);
            assertEquals(parsed.get("city").asText(), forecast.city().name());
            assertEquals(parsed.get("unit").asText(), forecast.unit().name());
            assertEquals(parsed.get("sunny").isNull() ? null : parsed.get("sunny").asBoolean(), forecast.sunny());
        }
    }
}
