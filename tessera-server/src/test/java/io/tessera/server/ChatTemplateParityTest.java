package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.tokenizer.NpmTokenizers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real chat templates render exactly as Hugging Face's {@code apply_chat_template} renders them
 * with Python's Jinja2 ({@link Jinja2Oracle}): those Llama 3, Qwen 3, Gemma 3 and DeepSeek V3 ship
 * in their tokenizer_config.json (fetched with npm), and Llama 2, Mistral and Phi-3 templates
 * written from their published form, over conversations with and without a system prompt,
 * several turns, with and without the generation prompt, an assistant prefill to continue, the
 * templates' own variables (Qwen 3's {@code enable_thinking}) and text that templates treat
 * specially (whitespace to trim, reasoning in think tags, template syntax, non-ASCII). Where
 * Jinja2 raises (a template refusing a conversation), the server refuses too.
 */
class ChatTemplateParityTest {

    /** A template under test and the special tokens its tokenizer names. */
    record Template(String name, String source, String bos, String eos) {
    }

    /** A conversation and how to render it. */
    record Conversation(String name, List<Map<String, Object>> messages, boolean addGenerationPrompt,
            boolean continueFinalMessage, Map<String, Object> variables) {
    }

    static Map<String, Object> msg(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    static final Map<String, Object> SYSTEM = msg("system", "You are a helpful assistant.");

    static List<Conversation> conversations() {
        List<Conversation> list = new ArrayList<>();
        List<Map<String, Object>> single = List.of(msg("user", "Hello!"));
        List<Map<String, Object>> withSystem = List.of(SYSTEM, msg("user", "What is 2 + 2?"));
        List<Map<String, Object>> multiTurn = List.of(SYSTEM, msg("user", "Hi"), msg("assistant", "Hello! How can I help?"),
                msg("user", "Tell me a joke."));
        List<Map<String, Object>> noSystemMultiTurn = List.of(msg("user", "Hi"), msg("assistant", "Hello."),
                msg("user", "Count to three."), msg("assistant", "One, two, three."), msg("user", "Again"));
        List<Map<String, Object>> awkward = List.of(msg("user", "  padded\twith whitespace \n\n"),
                msg("assistant", "\n Sure \n"), msg("user",
                        "{{ 7 * 7 }} {% raw %} <|im_end|> 日本語のテキスト 😀 \"quotes\" 'single' \\backslash"));
        List<Map<String, Object>> thinking = List.of(msg("user", "Why is the sky blue?"),
                msg("assistant", "<think>\nRayleigh scattering.\n</think>\n\nBecause of Rayleigh scattering."),
                msg("user", "And at sunset?"));
        List<Map<String, Object>> prefill = List.of(SYSTEM, msg("user", "Write a haiku."),
                msg("assistant", "Autumn moonlight -"));
        List<Map<String, Object>> prefillTrailingSpace = List.of(msg("user", "Name a colour."),
                msg("assistant", "The colour is "));
        List<Map<String, Object>> notAlternating = List.of(msg("user", "one"), msg("user", "two"));
        for (boolean agp : new boolean[] {true, false}) {
            list.add(new Conversation("single", single, agp, false, Map.of()));
            list.add(new Conversation("system", withSystem, agp, false, Map.of()));
            list.add(new Conversation("multi-turn", multiTurn, agp, false, Map.of()));
            list.add(new Conversation("no-system multi-turn", noSystemMultiTurn, agp, false, Map.of()));
            list.add(new Conversation("awkward text", awkward, agp, false, Map.of()));
            list.add(new Conversation("thinking history", thinking, agp, false, Map.of()));
            list.add(new Conversation("not alternating", notAlternating, agp, false, Map.of()));
        }
        list.add(new Conversation("prefill", prefill, false, true, Map.of()));
        list.add(new Conversation("prefill, trailing space", prefillTrailingSpace, false, true, Map.of()));
        list.add(new Conversation("enable_thinking false", withSystem, true, false, Map.of("enable_thinking", false)));
        list.add(new Conversation("enable_thinking true", withSystem, true, false, Map.of("enable_thinking", true)));
        list.add(new Conversation("thinking history, enable_thinking false", thinking, true, false,
                Map.of("enable_thinking", false)));
        list.add(new Conversation("unused variables", multiTurn, true, false,
                Map.of("enable_thinking", false, "custom", List.of(1, "two", Map.of("three", 3)))));
        return list;
    }

    static List<Template> templates() throws IOException {
        List<Template> list = new ArrayList<>();
        list.add(fromNpm("llama3", NpmTokenizers.llama3()));
        list.add(fromNpm("qwen3", NpmTokenizers.qwen3()));
        list.add(fromNpm("gemma3", NpmTokenizers.gemma3()));
        list.add(fromNpm("deepseek-v3", NpmTokenizers.deepseekV3()));
        list.add(new Template("llama2", resource("llama2.jinja"), "<s>", "</s>"));
        list.add(new Template("mistral", resource("mistral.jinja"), "<s>", "</s>"));
        list.add(new Template("phi3", resource("phi3.jinja"), "<s>", "<|endoftext|>"));
        return list;
    }

    /** The chat template and special tokens of a package's tokenizer_config.json. */
    static Template fromNpm(String name, Path dir) throws IOException {
        JsonNode config = new ObjectMapper().readTree(Files.readString(dir.resolve("tokenizer_config.json")));
        return new Template(name, config.get("chat_template").asText(), token(config.get("bos_token")),
                token(config.get("eos_token")));
    }

    private static String token(JsonNode t) {
        if (t == null || t.isNull()) {
            return "";
        }
        return t.isObject() ? t.get("content").asText() : t.asText();
    }

    static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateParityTest.class.getResourceAsStream("templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void realTemplatesRenderAsJinja2RendersThem() throws Exception {
        List<Template> templates = templates();
        List<Conversation> conversations = conversations();
        List<Jinja2Oracle.Case> cases = new ArrayList<>();
        for (Template t : templates) {
            for (Conversation c : conversations) {
                cases.add(new Jinja2Oracle.Case(t.source(), c.messages(), c.addGenerationPrompt(),
                        c.continueFinalMessage(), variables(t, c)));
            }
        }
        List<Jinja2Oracle.Result> expected = Jinja2Oracle.render(cases);
        List<String> mismatches = new ArrayList<>();
        int rendered = 0;
        int i = 0;
        for (Template t : templates) {
            ChatTemplate template = new ChatTemplate(t.source(), t.bos(), t.eos());
            for (Conversation c : conversations) {
                Jinja2Oracle.Result want = expected.get(i++);
                String where = t.name() + " / " + c.name() + " (add_generation_prompt " + c.addGenerationPrompt() + ")";
                String got;
                try {
                    got = template.render(c.messages(), c.addGenerationPrompt(), c.continueFinalMessage(),
                            c.variables());
                } catch (ApiException e) {
                    if (want.error() == null) {
                        mismatches.add(where + ": Jinja2 rendered " + quote(want.text()) + " but we failed: "
                                + e.getMessage());
                    } else if (e.status() != 400) {
                        mismatches.add(where + ": Jinja2 refused, we answered " + e.status());
                    }
                    continue;
                }
                if (want.error() != null) {
                    mismatches.add(where + ": Jinja2 refused (" + want.error() + ") but we rendered " + quote(got));
                } else if (!want.text().equals(got)) {
                    mismatches.add(where + ":\n  jinja2: " + quote(want.text()) + "\n  ours:   " + quote(got));
                } else {
                    rendered++;
                }
            }
        }
        if (!mismatches.isEmpty()) {
            fail(mismatches.size() + " of " + cases.size() + " renderings differ from Jinja2:\n"
                    + String.join("\n", mismatches));
        }
        // the refusals compared above are a few; most cases must be real renderings
        assertTrue(rendered > cases.size() * 3 / 4, rendered + " of " + cases.size());
    }

    private static Map<String, Object> variables(Template t, Conversation c) {
        Map<String, Object> v = new LinkedHashMap<>(c.variables());
        v.put("bos_token", t.bos());
        v.put("eos_token", t.eos());
        return v;
    }

    private static String quote(String s) {
        return new ObjectMapper().valueToTree(s).toString();
    }

    @Test
    void qwen3ThinkingSwitchChangesThePrompt() throws Exception {
        Template qwen = fromNpm("qwen3", NpmTokenizers.qwen3());
        ChatTemplate t = new ChatTemplate(qwen.source(), qwen.bos(), qwen.eos());
        List<Map<String, Object>> m = List.of(msg("user", "Hi"));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.render(m, true, false, Map.of()));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                t.render(m, true, false, Map.of("enable_thinking", false)));
    }
}
