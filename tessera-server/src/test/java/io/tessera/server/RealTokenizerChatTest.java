package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.hf.HfCheckpoint;
import io.tessera.core.hf.HfCheckpointWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.LocalExecutor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Qwen-3- and Llama-3.2-shaped synthetic models (dim 64, 2 layers, the real vocabulary sizes) as
 * Hugging Face checkpoint directories with the REAL tokenizer.json and tokenizer_config.json (chat
 * template included), served and driven with the official OpenAI Java SDK: the prompt is Jinja2's
 * rendering of the real template tokenized, chat completions stream and not, generation stops on the
 * model's end tokens, usage counts are right, and {@code chat_template_kwargs} reach the template.
 */
class RealTokenizerChatTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    /** A served checkpoint and the SDK client on it. */
    record Served(String name, Path checkpoint, LoadedModel loaded, Parallel parallel, LocalExecutor executor,
            Engine engine, TesseraServer server, OpenAIClient client) implements AutoCloseable {
        @Override
        public void close() {
            client.close();
            server.close();
            engine.close();
            executor.close();
            parallel.close();
            loaded.close();
        }

        String url() {
            return server.baseUrl();
        }
    }

    static Served qwen;
    static Served llama;
    /** Output heads steered to the end tokens (and, for Qwen, harder to the padding rows). */
    static Served qwenSteered;
    static Served llamaSteered;

    static final int QWEN_IM_END = 151645;
    static final int QWEN_ENDOFTEXT = 151643;
    static final int LLAMA_EOT = 128009;
    static final int LLAMA_END_OF_TEXT = 128001;

    @BeforeAll
    static void start() throws Exception {
        Path qwenTok = NpmTokenizers.qwen3();
        Path llamaTok = NpmTokenizers.llama3();
        qwen = serve("qwen3", checkpoint("qwen3", "qwen3-0.6b", qwenTok, true, null, 0, QWEN_ENDOFTEXT,
                List.of(QWEN_IM_END, QWEN_ENDOFTEXT)), null);
        llama = serve("llama3", checkpoint("llama3", "llama-3.2-1b", llamaTok, true, null, 0, 128000,
                List.of(LLAMA_END_OF_TEXT, LLAMA_EOT)), null);
        // the steered models share the tokenizer just read (reading a 150k-token tokenizer.json takes seconds)
        qwenSteered = serve("qwen3-steered", checkpoint("qwen3-steered", "qwen3-0.6b", qwenTok, false,
                new int[] {QWEN_IM_END, QWEN_ENDOFTEXT}, qwen.loaded().tokenizer().vocabSize(), QWEN_ENDOFTEXT,
                List.of(QWEN_IM_END, QWEN_ENDOFTEXT)), qwen.loaded());
        llamaSteered = serve("llama3-steered", checkpoint("llama3-steered", "llama-3.2-1b", llamaTok, false,
                new int[] {LLAMA_EOT, LLAMA_END_OF_TEXT}, llama.loaded().tokenizer().vocabSize(), 128000,
                List.of(LLAMA_END_OF_TEXT, LLAMA_EOT)), llama.loaded());
    }

    @AfterAll
    static void stop() {
        for (Served s : new Served[] {qwen, llama, qwenSteered, llamaSteered}) {
            if (s != null) {
                s.close();
            }
        }
    }

    /**
     * A tiny model of a real shape (its vocabulary, rotary and attention options) as a checkpoint
     * directory with the real tokenizer files.
     *
     * @param steerTo null for random weights throughout; else an untied output head whose rows are
     *     zero but for these two end tokens (+w and -w, so that one of them has the largest logit
     *     whatever the hidden state) and, stronger still, the embedding's padding rows beyond the
     *     tokenizer's vocabulary (±4w), which must never be sampled
     */
    static Path checkpoint(String name, String shape, Path tokenizerDir, boolean tied, int[] steerTo,
            int tokenizerVocab, int bos, List<Integer> eos) throws Exception {
        return checkpoint(dir, name, shape, tokenizerDir, tied, steerTo, tokenizerVocab, bos, eos);
    }

    /** As above, written under {@code dir}. */
    static Path checkpoint(Path dir, String name, String shape, Path tokenizerDir, boolean tied, int[] steerTo,
            int tokenizerVocab, int bos, List<Integer> eos) throws Exception {
        ModelConfig real = ModelShape.named(shape).config();
        ModelConfig tiny = new ModelConfig(real.architecture(), 64, 128, 2, 4, 2, 16, real.vocabSize(), 4096,
                real.ropeTheta(), real.ropeStyle(), real.rmsEps(), real.ropeScaling(), real.attention(),
                real.feedForward(), real.finalLogitSoftcap(), real.embeddingScale(), real.postNorms());
        Path out = dir.resolve(name);
        GgufModelWriter.WeightSource random = SyntheticModel.weights(7);
        GgufModelWriter.WeightSource weights = steerTo == null ? random : (tensor, row, dst, n) -> {
            if (!tensor.equals("output.weight")) {
                random.row(tensor, row, dst, n);
                return;
            }
            random.row("steer", 0, dst, n);
            float sign = row == steerTo[0] ? 1 : row == steerTo[1] ? -1
                    : row >= tokenizerVocab ? ((row & 1) == 0 ? 4 : -4) : 0;
            for (int i = 0; i < n; i++) {
                dst[i] *= sign;
            }
        };
        HfCheckpointWriter.write(out, tiny, tied, SafetensorsDtype.BF16, weights);
        Files.copy(tokenizerDir.resolve("tokenizer.json"), out.resolve("tokenizer.json"));
        Files.copy(tokenizerDir.resolve("tokenizer_config.json"), out.resolve("tokenizer_config.json"));
        HfCheckpointWriter.writeGenerationConfig(out, bos, eos);
        return out;
    }

    /** Serves the checkpoint; with {@code sameTokenizer}, its tokenizer and end tokens instead of reading them again. */
    static Served serve(String name, Path checkpoint, LoadedModel sameTokenizer) throws Exception {
        LoadedModel loaded = sameTokenizer == null ? LoadedModel.open(checkpoint, null)
                : new LoadedModel(HfCheckpoint.load(checkpoint), sameTokenizer.tokenizer(), 0,
                        HfCheckpoint.chatTemplate(checkpoint), sameTokenizer.eosTokenIds());
        Parallel parallel = new Parallel(1);
        LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 256);
        Engine engine = new Engine(executor, EngineConfig.defaults(loaded.eosTokenIds()),
                Detokenizer.of(loaded.tokenizer()));
        ServedModel served = ServedModel.of(name, loaded.tokenizer(), loaded.model().config().contextLength(),
                loaded.chatTemplate());
        TesseraServer server = new TesseraServer(engine, served, ServerConfig.defaults()).start();
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey("none")
                .maxRetries(0).timeout(Duration.ofSeconds(120)).build();
        return new Served(name, checkpoint, loaded, parallel, executor, engine, server, client);
    }

    // ---------------------------------------------------------------- helpers

    static Map<String, Object> msg(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    static final List<Map<String, Object>> CONVERSATION = List.of(msg("system", "You are terse."),
            msg("user", "Name a prime."), msg("assistant", "Seven."), msg("user", "Another, in 日本語 please 😀"));

    /** The ids of Jinja2's rendering of the checkpoint's own template, tokenized as the server tokenizes. */
    static int[] oracleIds(Served s, List<Map<String, Object>> messages, boolean addGenerationPrompt,
            boolean continueFinal, Map<String, Object> kwargs) throws Exception {
        JsonNode config = JSON.readTree(Files.readString(s.checkpoint().resolve("tokenizer_config.json")));
        String template = config.get("chat_template").asText();
        Map<String, Object> variables = new LinkedHashMap<>(kwargs);
        variables.put("bos_token", tokenText(config.get("bos_token")));
        variables.put("eos_token", tokenText(config.get("eos_token")));
        assertEquals(template, s.loaded().chatTemplate(), "the checkpoint's template is the one served");
        Jinja2Oracle.Result r = Jinja2Oracle.render(List.of(new Jinja2Oracle.Case(template, messages,
                addGenerationPrompt, continueFinal, variables))).getFirst();
        assertNull(r.error(), r.error());
        return s.loaded().tokenizer().encode(r.text(), false, true);
    }

    private static String tokenText(JsonNode t) {
        return t == null || t.isNull() ? "" : t.isObject() ? t.get("content").asText() : t.asText();
    }

    static HttpResponse<String> post(Served s, String path, Object body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(s.url() + path))
                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body instanceof String str ? str
                        : JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
    }

    static int[] served(Served s, Map<String, Object> body) throws Exception {
        HttpResponse<String> r = post(s, "/tokenize", body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode tokens = JSON.readTree(r.body()).get("tokens");
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokens.get(i).asInt();
        }
        return ids;
    }

    static ChatCompletionCreateParams.Builder chat(Served s) {
        return ChatCompletionCreateParams.builder().model(ChatModel.of(s.name())).addSystemMessage("You are terse.")
                .addUserMessage("Name a prime.").addAssistantMessage("Seven.")
                .addUserMessage("Another, in 日本語 please 😀");
    }

    // ---------------------------------------------------------------- tests

    @Test
    void thePromptIsJinja2sRenderingOfTheRealTemplate() throws Exception {
        for (Served s : List.of(qwen, llama)) {
            int[] expected = oracleIds(s, CONVERSATION, true, false, Map.of());
            assertArrayEquals(expected, served(s, Map.of("messages", CONVERSATION)), s.name());
            ChatCompletion c = s.client().chat().completions().create(chat(s).maxCompletionTokens(1)
                    .temperature(0.0).build());
            assertEquals(expected.length, c.usage().orElseThrow().promptTokens(), s.name());
            // without the generation prompt, and continuing an assistant prefill
            assertArrayEquals(oracleIds(s, CONVERSATION, false, false, Map.of()), served(s, Map.of("messages",
                    CONVERSATION, "add_generation_prompt", false)), s.name());
            List<Map<String, Object>> prefill = new ArrayList<>(CONVERSATION);
            prefill.add(msg("assistant", "Eleven, or in 日本語 "));
            assertArrayEquals(oracleIds(s, prefill, false, true, Map.of()), served(s, Map.of("messages", prefill,
                    "continue_final_message", true)), s.name());
        }
        // Llama 3's template puts BOS first: the rendered text's "<|begin_of_text|>" is the special token
        assertEquals(128000, served(llama, Map.of("messages", CONVERSATION))[0]);
    }

    @Test
    void qwen3EnableThinkingReachesTheTemplate() throws Exception {
        int[] thinking = oracleIds(qwen, CONVERSATION, true, false, Map.of());
        int[] notThinking = oracleIds(qwen, CONVERSATION, true, false, Map.of("enable_thinking", false));
        assertNotEquals(thinking.length, notThinking.length);
        assertArrayEquals(notThinking, served(qwen, Map.of("messages", CONVERSATION, "chat_template_kwargs",
                Map.of("enable_thinking", false))));
        ChatCompletion c = qwen.client().chat().completions().create(chat(qwen).maxCompletionTokens(1)
                .temperature(0.0).putAdditionalBodyProperty("chat_template_kwargs",
                        JsonValue.from(Map.of("enable_thinking", false))).build());
        assertEquals(notThinking.length, c.usage().orElseThrow().promptTokens());
        ChatCompletion d = qwen.client().chat().completions().create(chat(qwen).maxCompletionTokens(1)
                .temperature(0.0).putAdditionalBodyProperty("chat_template_kwargs",
                        JsonValue.from(Map.of("enable_thinking", true))).build());
        assertEquals(thinking.length, d.usage().orElseThrow().promptTokens());
    }

    @Test
    void chatCompletionsStreamAndNotWithRightUsage() {
        for (Served s : List.of(qwen, llama)) {
            ChatCompletionCreateParams p = chat(s).maxCompletionTokens(12).temperature(0.0)
                    .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
            ChatCompletion whole = s.client().chat().completions().create(p);
            assertEquals("length", whole.choices().getFirst().finishReason().asString(), s.name());
            assertEquals(12, whole.usage().orElseThrow().completionTokens(), s.name());
            String text = whole.choices().getFirst().message().content().orElse("");
            List<ChatCompletionChunk> chunks = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> st = s.client().chat().completions().createStreaming(
                    p.toBuilder().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                            .build())) {
                st.stream().forEach(chunks::add);
            }
            StringBuilder streamed = new StringBuilder();
            String finish = null;
            for (ChatCompletionChunk c : chunks) {
                for (var ch : c.choices()) {
                    ch.delta().content().ifPresent(streamed::append);
                    if (ch.finishReason().isPresent()) {
                        finish = ch.finishReason().get().asString();
                    }
                }
            }
            assertEquals("length", finish, s.name());
            assertEquals(text, streamed.toString(), s.name() + ": streamed text equals the whole (greedy)");
            var usage = chunks.getLast().usage().orElseThrow();
            assertEquals(12, usage.completionTokens(), s.name());
            assertEquals(whole.usage().orElseThrow().promptTokens(), usage.promptTokens(), s.name());
            assertEquals(usage.promptTokens() + 12, usage.totalTokens(), s.name());
        }
    }

    /**
     * The steered heads put the largest logit on one of the two end tokens, so generation stops at
     * once with nothing emitted; Qwen's head puts larger ones still on the padding rows beyond the
     * tokenizer's vocabulary, which the engine never samples.
     */
    @Test
    void generationStopsOnTheModelsEndTokensAndNeverSamplesPadding() {
        assertTrue(qwenSteered.loaded().model().config().vocabSize() > qwenSteered.loaded().tokenizer().vocabSize(),
                "Qwen's embedding has padding rows");
        for (Served s : List.of(qwenSteered, llamaSteered)) {
            ChatCompletion c = s.client().chat().completions().create(chat(s).maxCompletionTokens(20)
                    .temperature(0.0).build());
            assertEquals("stop", c.choices().getFirst().finishReason().asString(), s.name());
            assertEquals("", c.choices().getFirst().message().content().orElse(""), s.name());
            assertEquals(1, c.usage().orElseThrow().completionTokens(), s.name() + ": the end token is counted");
            String finish = null;
            StringBuilder text = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> st = s.client().chat().completions().createStreaming(
                    chat(s).maxCompletionTokens(20).temperature(0.0).build())) {
                for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) st.stream()::iterator) {
                    for (var ch : chunk.choices()) {
                        ch.delta().content().ifPresent(text::append);
                        if (ch.finishReason().isPresent()) {
                            finish = ch.finishReason().get().asString();
                        }
                    }
                }
            }
            assertEquals("stop", finish, s.name());
            assertEquals("", text.toString(), s.name());
        }
        // sampled rather than greedy, still nothing beyond the vocabulary
        for (int seed = 0; seed < 5; seed++) {
            ChatCompletion c = qwenSteered.client().chat().completions().create(chat(qwenSteered)
                    .maxCompletionTokens(4).temperature(1.0).seed(seed).build());
            String reason = c.choices().getFirst().finishReason().asString();
            assertTrue(reason.equals("stop") || reason.equals("length"), reason);
        }
    }

    @Test
    void badChatTemplateKwargsAreRefusedNamingTheField() throws Exception {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("\"chat_template_kwargs\":[1]", "chat_template_kwargs");
        cases.put("\"chat_template_kwargs\":\"enable_thinking\"", "chat_template_kwargs");
        cases.put("\"chat_template_kwargs\":{\"messages\":[]}", "chat_template_kwargs.messages");
        cases.put("\"chat_template_kwargs\":{\"add_generation_prompt\":false}",
                "chat_template_kwargs.add_generation_prompt");
        cases.put("\"chat_template_kwargs\":{\"bos_token\":\"x\"}", "chat_template_kwargs.bos_token");
        cases.put("\"chat_template_kwargs\":{\"tools\":null}", "chat_template_kwargs.tools");
        cases.put("\"chat_template_kwargs\":{\"raise_exception\":1}", "chat_template_kwargs.raise_exception");
        cases.put("\"chat_template_kwargs\":{\"\":1}", "chat_template_kwargs");
        cases.put("\"chat_template_kwargs\":{\"" + "k".repeat(300) + "\":1}", "chat_template_kwargs");
        StringBuilder many = new StringBuilder("\"chat_template_kwargs\":{");
        for (int i = 0; i < 65; i++) {
            many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":").append(i);
        }
        cases.put(many.append('}').toString(), "chat_template_kwargs");
        cases.put("\"chat_template_kwargs\":{\"deep\":" + "[".repeat(40) + "]".repeat(40) + "}",
                "chat_template_kwargs.deep" + "[0]".repeat(16));
        cases.put("\"chat_template_kwargs\":{\"wide\":[" + "0,".repeat(20_000) + "0]}", "chat_template_kwargs");
        cases.put("\"chat_template_kwargs\":{\"big\":123456789012345678901234567890}", "chat_template_kwargs.big");
        cases.put("\"continue_final_message\":true,\"add_generation_prompt\":true", "continue_final_message");
        cases.put("\"continue_final_message\":\"yes\"", "continue_final_message");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            for (String path : List.of("/v1/chat/completions", "/tokenize")) {
                HttpResponse<String> r = post(qwen, path, "{" + messages + "," + c.getKey() + ",\"max_tokens\":1}");
                assertEquals(400, r.statusCode(), c.getKey() + " → " + r.body());
                JsonNode error = JSON.readTree(r.body()).get("error");
                assertEquals(c.getValue(), error.get("param").asText(), c.getKey() + " → " + r.body());
            }
        }
        // the server still answers, with nested variables of every JSON type
        HttpResponse<String> ok = post(qwen, "/v1/chat/completions", "{" + messages + ",\"max_tokens\":1,"
                + "\"chat_template_kwargs\":{\"enable_thinking\":false,\"nested\":{\"a\":[1,2.5,null,true]}}}");
        assertEquals(200, ok.statusCode(), ok.body());
    }
}
