package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Collections;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine's limits (context, max_tokens, n) as every endpoint words them: the exact message
 * and the parameter a client sees, so that where the checks live can change without clients
 * noticing. The model's context is 512 tokens; four sequences run at once.
 */
@Timeout(60)
class LimitMessagesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestServer ts;

    @BeforeAll
    static void start() throws Exception {
        ts = new TestServer(ServerConfig.defaults(), 4);
    }

    @AfterAll
    static void stop() {
        if (ts != null) {
            ts.close();
        }
    }

    /** The 400's error object of posting {@code body} to {@code path}. */
    private static JsonNode badRequest(String path, String body) throws Exception {
        RawHttp.Response r = RawHttp.exchange(ts.server.port(), "POST", path, "localhost",
                "Content-Type: application/json\r\n", body);
        assertEquals(400, r.status(), r.body());
        return JSON.readTree(r.body()).get("error");
    }

    private static String ids(int count) {
        return "[" + String.join(",", Collections.nCopies(count, "5")) + "]";
    }

    /** Text of about one token per character: past the context in tokens, not in characters. */
    private static String words(int count) {
        return "#".repeat(count);
    }

    private static void assertError(JsonNode e, String param, String message) {
        assertEquals(param, e.get("param").asText(), e.toString());
        assertEquals(message, e.get("message").asText());
    }

    @Test
    void promptAndMaxTokensPastTheContextNameMaxTokens() throws Exception {
        // completions default to 16 tokens
        assertError(badRequest("/v1/completions", "{\"prompt\":" + ids(500) + "}"), "max_tokens",
                "This model's maximum context length is 512 tokens. However, you requested 516 tokens (500 in the"
                        + " prompt, 16 in the completion). Please reduce the length of the prompt or completion.");
        assertError(badRequest("/v1/completions", "{\"prompt\":" + ids(512) + ",\"max_tokens\":1}"), "max_tokens",
                "This model's maximum context length is 512 tokens. However, you requested 513 tokens (512 in the"
                        + " prompt, 1 in the completion). Please reduce the length of the prompt or completion.");
    }

    @Test
    void aChatPromptWithoutRoomNamesTheMessages() throws Exception {
        JsonNode e = badRequest("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"" + words(600) + "\"}]}");
        assertEquals("messages", e.get("param").asText(), e.toString());
        String m = e.get("message").asText();
        assertTrue(m.matches("This model's maximum context length is 512 tokens\\. However, your messages resulted"
                + " in \\d+ tokens\\. Please reduce the length of the messages\\."), m);
    }

    @Test
    void nOutsideWhatRunsAtOnce() throws Exception {
        assertError(badRequest("/v1/completions", "{\"prompt\":\"a\",\"n\":0}"), "n", "'n' must be in 1..4, got 0");
        assertError(badRequest("/v1/completions", "{\"prompt\":\"a\",\"n\":5}"), "n",
                "'n' must be in 1..4, got 5 (this server runs at most 4 sequences at once)");
        assertError(badRequest("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"n\":200}"), "n",
                "'n' must be in 1..4, got 200 (this server runs at most 4 sequences at once)");
    }

    @Test
    void tokenizeAndDetokenizeWithinTheContext() throws Exception {
        JsonNode e = badRequest("/tokenize", "{\"prompt\":\"" + words(600) + "\"}");
        assertEquals("prompt", e.get("param").asText(), e.toString());
        assertTrue(e.get("message").asText().matches("This model's maximum context length is 512 tokens\\."
                + " However, your prompt resulted in \\d+ tokens\\."), e.toString());
        assertError(badRequest("/detokenize", "{\"tokens\":" + ids(513) + "}"), "tokens",
                "'tokens' has 513 ids, more than this model's maximum context length of 512 tokens");
    }

    @Test
    void embeddingInputsWithinTheContext() throws Exception {
        assertError(badRequest("/v1/embeddings", "{\"input\":" + ids(513) + "}"), "input",
                "This model's maximum context length is 512 tokens, and 'input' has 513 tokens. Please reduce its"
                        + " length.");
        assertError(badRequest("/v1/embeddings", "{\"input\":[[5]," + ids(513) + "]}"), "input",
                "This model's maximum context length is 512 tokens, and 'input[1]' has 513 tokens. Please reduce its"
                        + " length.");
        JsonNode e = badRequest("/v1/embeddings", "{\"input\":[\"a\",\"" + words(600) + "\"]}");
        assertEquals("input", e.get("param").asText(), e.toString());
        assertTrue(e.get("message").asText().matches("This model's maximum context length is 512 tokens, and"
                + " input\\[1\\] has \\d+ tokens\\. Please reduce its length\\."), e.toString());
    }
}
