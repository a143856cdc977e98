package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.NpmPackages;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OpenAI Node SDK ({@code openai} on npm, pinned) against a running server, as an
 * application uses it: the script {@code openai-node/client-check.mjs} makes forced tool calls
 * (whole, streamed and assembled from {@code delta.tool_calls}, through the SDK's stream helper),
 * answers one with a {@code role: tool} turn, runs a JS function through the SDK's
 * {@code chat.completions.runTools} loop, and embeds a string and a list in float, base64 and the
 * SDK's default (base64 that the SDK decodes). The script asserts what the SDK sees; this test checks
 * every call's arguments against the function's schema and that the SDK's vectors are the ones
 * the server answers over plain HTTP. The model is synthetic Qwen-3-shaped with the real template,
 * so {@code tool_choice} required or named makes each reply a call by constrained decoding.
 *
 * <p>The package is fetched once with {@code npm pack} (no install scripts; it has no dependencies)
 * and cached as the tokenizer fixtures are; without node, npm or the registry the test is skipped.
 */
class OpenAiNodeSdkTest {
    /** The newest release whose engines field admits node 20 (7.x wants node 22). */
    static final String OPENAI_NODE_VERSION = "6.49.0";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static RealTokenizerChatTest.Served qwen;
    static JsonNode report;
    /** node_modules/openai, a link to the cached package, removed before the temporary directory is. */
    static Path sdkLink;

    @BeforeAll
    static void runTheScript() throws Exception {
        requireNode();
        Path sdk = NpmPackages.fetch("openai", OPENAI_NODE_VERSION, "package.json");
        qwen = ToolCallingTest.qwenWithTools(dir, "qwen3-node");

        // node resolves "openai" from node_modules next to the script
        Path work = Files.createDirectories(dir.resolve("node"));
        Files.createDirectories(work.resolve("node_modules"));
        sdkLink = Files.createSymbolicLink(work.resolve("node_modules/openai"), sdk);
        Path script = work.resolve("client-check.mjs");
        try (InputStream in = OpenAiNodeSdkTest.class.getResourceAsStream("/openai-node/client-check.mjs")) {
            Files.copy(in, script);
        }
        ProcessBuilder pb = new ProcessBuilder("node", script.toString()).directory(work.toFile())
                .redirectOutput(work.resolve("out.json").toFile()).redirectError(work.resolve("err.log").toFile());
        pb.environment().putAll(Map.of("TESSERA_URL", qwen.url(), "TESSERA_MODEL", qwen.name(),
                "TESSERA_WEATHER_SCHEMA", ToolCallingTest.WEATHER_SCHEMA,
                "TESSERA_TIME_SCHEMA", ToolCallingTest.TIME_SCHEMA));
        Process p = pb.start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the Node script did not finish in 180 s: " + Files.readString(work.resolve("err.log")));
        }
        assertEquals(0, p.exitValue(), () -> "the Node script failed: " + readQuietly(work.resolve("err.log")));
        report = JSON.readTree(Files.readString(work.resolve("out.json")));
    }

    static void requireNode() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            Assumptions.assumeTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0,
                    "node --version failed");
        } catch (IOException e) {
            Assumptions.abort("node is not installed: " + e.getMessage());
        }
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @AfterAll
    static void stop() throws IOException {
        if (sdkLink != null) {
            Files.deleteIfExists(sdkLink);
        }
        if (qwen != null) {
            qwen.close();
        }
    }

    @Test
    void everyCallTheSdkSawFollowsItsFunctionsSchema() throws Exception {
        assertEquals(OPENAI_NODE_VERSION, report.get("sdkVersion").asText());
        List<String> sources = new ArrayList<>();
        for (JsonNode call : report.get("calls")) {
            String name = call.get("name").asText();
            assertTrue(List.of("get_weather", "get_time").contains(name), call.toString());
            ToolCallingTest.assertValid(name, call.get("arguments").asText());
            sources.add(call.get("source").asText());
        }
        assertEquals(List.of("create", "stream-deltas", "stream-helper", "runTools"), sources);
        // runTools was given get_weather alone, by name
        assertEquals("get_weather", report.get("calls").get(3).get("name").asText());
        assertTrue(report.get("runToolsAnswer").isTextual(), report.toString());
    }

    @Test
    void theSdksVectorsAreTheServersOverPlainHttp() throws Exception {
        int dim = qwen.loaded().model().config().dim();
        assertServerVectors("Once upon a time there was a cat.", report.get("embeddings").get("text"), dim);
        assertServerVectors(List.of("The dog ran.", "A big red ball", "Lily and Ben went to the park."),
                report.get("embeddings").get("segments"), dim);
    }

    static void assertServerVectors(Object input, JsonNode fromSdk, int dim) throws Exception {
        HttpResponse<String> r = RealTokenizerChatTest.post(qwen, "/v1/embeddings",
                Map.of("model", qwen.name(), "input", input, "encoding_format", "float"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertEquals(data.size(), fromSdk.size());
        for (int i = 0; i < data.size(); i++) {
            float[] want = floats(data.get(i).get("embedding"));
            assertEquals(dim, want.length);
            assertArrayEquals(want, floats(fromSdk.get(i)), "vector " + i + " of " + input);
        }
    }

    static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) array.get(i).asDouble();
        }
        return v;
    }
}
