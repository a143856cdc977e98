package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK against a real Tessera server on a loopback port. */
class OpenAiSdkTest {

    static final String KEY = "sdk-test-key";
    static TestServer ts;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults().withApiKey(KEY));
        client = OpenAIOkHttpClient.builder().baseUrl(ts.url() + "/v1").apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (ts != null) {
            ts.close();
        }
    }

    @Test
    void listsTheModel() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals(TestServer.MODEL, models.get(0).id());
    }

    @Test
    void completion() {
        Completion c = client.completions().create(CompletionCreateParams.builder()
                .model(TestServer.MODEL).prompt("Once upon a time").maxTokens(12).temperature(0.0).build());
        assertEquals(1, c.choices().size());
        String text = c.choices().get(0).text();
        assertFalse(text.isBlank(), "generated text");
        assertTrue(c.usage().isPresent());
        assertEquals(12, c.usage().get().completionTokens());
        assertTrue(c.usage().get().promptTokens() > 3);
        assertEquals("length", c.choices().get(0).finishReason().asString());
    }

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ChatModel.of(TestServer.MODEL)).addSystemMessage("You tell short stories.")
                .addUserMessage("Tell me about a cat.").maxCompletionTokens(16).temperature(0.0).seed(7).build());
        assertEquals(1, c.choices().size());
        assertTrue(c.choices().get(0).message().content().orElse("").length() > 0);
        assertEquals(16, c.usage().orElseThrow().completionTokens());
        assertTrue(c.usage().orElseThrow().promptTokens() > 10, "the fallback template renders the messages");
    }

    @Test
    void streamingChatWithUsage() {
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder()
                .model(ChatModel.of(TestServer.MODEL)).addUserMessage("Once upon a time")
                .maxCompletionTokens(20).temperature(0.0)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunks::add);
        }
        assertTrue(chunks.size() > 3, "several chunks");
        var first = chunks.get(0).choices().get(0);
        assertEquals("assistant", first.delta().role().orElseThrow().asString());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (ChatCompletionChunk c : chunks) {
            for (var ch : c.choices()) {
                ch.delta().content().ifPresent(text::append);
                if (ch.finishReason().isPresent()) {
                    finish = ch.finishReason().get().asString();
                }
            }
        }
        assertEquals("length", finish);
        assertFalse(text.isEmpty());
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertTrue(last.choices().isEmpty());
        assertEquals(20, last.usage().orElseThrow().completionTokens());
        // the same request without streaming gives the same text (greedy)
        ChatCompletion whole = client.chat().completions().create(p.toBuilder().streamOptions(
                java.util.Optional.empty()).build());
        assertEquals(whole.choices().get(0).message().content().orElse(""), text.toString());
    }

    @Test
    void streamingThroughKeepAliveComments() throws Exception {
        // two sequences at a time: the SDK's stream waits behind a long request of n = 2, reading SSE comments
        try (TestServer one = new TestServer(ServerConfig.defaults(), 2)) {
            one.server.keepAliveInterval(java.time.Duration.ofMillis(5));
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(one.url() + "/v1").apiKey("none").maxRetries(0)
                    .build();
            try {
                CompletionCreateParams p = CompletionCreateParams.builder().model(TestServer.MODEL)
                        .prompt("Once upon a time").maxTokens(40).temperature(0.0).build();
                Completion whole = c.completions().create(p);
                var blocker = c.async().completions().create(p.toBuilder().maxTokens(400).n(2)
                        .putAdditionalBodyProperty("ignore_eos", com.openai.core.JsonValue.from(true)).build());
                while (one.engine.stats().running() < 1) {
                    Thread.sleep(2);
                }
                StringBuilder text = new StringBuilder();
                try (StreamResponse<Completion> s = c.completions().createStreaming(p)) {
                    s.stream().forEach(x -> x.choices().forEach(ch -> text.append(ch.text())));
                }
                assertEquals(whole.choices().get(0).text(), text.toString());
                assertEquals(400, blocker.get().usage().orElseThrow().completionTokens() / 2);
            } finally {
                c.close();
            }
        }
    }

    @Test
    void errors() {
        NotFoundException nf = assertThrows(NotFoundException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model("no-such-model").prompt("x").maxTokens(2).build()));
        assertEquals(404, nf.statusCode());
        BadRequestException br = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(TestServer.MODEL).prompt("x").maxTokens(100_000).build()));
        assertTrue(br.getMessage().contains("maximum context length is 512"), br.getMessage());
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(ts.url() + "/v1").apiKey("wrong")
                .maxRetries(0).build();
        try {
            assertThrows(UnauthorizedException.class, () -> wrong.models().list());
        } finally {
            wrong.close();
        }
    }

    enum Feeling { HAPPY, SAD, SLEEPY }

    /** What the SDK turns into a strict JSON schema (every property required, no others). */
    record Mood(Feeling feeling, boolean hungry, int naps, Feeling yesterday) {
    }

    @Test
    void structuredOutputFromAJavaClass() {
        for (long seed = 1; seed <= 3; seed++) {
            StructuredChatCompletion<Mood> c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model(ChatModel.of(TestServer.MODEL)).addUserMessage("How is the cat?").maxCompletionTokens(300)
                    .temperature(1.0).seed(seed).n(2).responseFormat(Mood.class).build());
            assertEquals(2, c.choices().size());
            for (var choice : c.choices()) {
                // the SDK parses the content into the record: it fails on anything but valid JSON of the schema
                Mood m = choice.message().content().orElseThrow();
                assertTrue(m.feeling() != null && m.yesterday() != null, m.toString());
                assertEquals("stop", choice.finishReason().asString());
            }
        }
    }
}
