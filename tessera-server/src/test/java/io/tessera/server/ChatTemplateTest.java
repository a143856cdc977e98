package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Chat templates as models ship them (ChatML, Llama 3, Mistral-style checks), and the fallback. */
class ChatTemplateTest {

    static final List<Map<String, Object>> MESSAGES = List.of(
            Map.of("role", "system", "content", "Be brief."),
            Map.of("role", "user", "content", "Hi there"));

    @Test
    void chatMl() {
        String t = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                + "{% endif %}";
        String out = new ChatTemplate(t, "<s>", "</s>").render(MESSAGES, true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\n", out);
    }

    @Test
    void llama3() {
        String t = """
                {% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}""";
        String out = new ChatTemplate(t, "<|begin_of_text|>", "<|eot_id|>").render(MESSAGES, true);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", out);
    }

    @Test
    void raiseExceptionIsA400() {
        String t = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                + "{% endif %}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}";
        ApiException e = assertThrows(ApiException.class, () -> new ChatTemplate(t, "<s>", "</s>").render(MESSAGES, true));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void fallback() {
        ChatTemplate f = new ChatTemplate(null, "<s>", "</s>");
        assertTrue(f.isFallback());
        assertEquals("Be brief.\n\nUser: Hi there\nAssistant:", f.render(MESSAGES, true));
        assertEquals("User: Hi there\n", f.render(List.of(MESSAGES.get(1)), false));
    }

    /** A template that loops 10^9 times, writing a character each time. */
    static final String BILLION_LOOPS = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
            + "x{% endfor %}{% endfor %}{% endfor %}";

    /** Renders within a generous timeout (a render that escaped its limits would run for minutes, or OOM). */
    private static ApiException exceeded(ChatTemplate t, List<Map<String, Object>> messages) {
        ApiException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(ApiException.class, () -> t.render(messages, true)));
        assertEquals(400, e.status());
        assertEquals("messages", e.param());
        assertTrue(e.getMessage().startsWith("the chat template exceeded its rendering limits: "), e.getMessage());
        return e;
    }

    @Test
    void aTemplateLoopingABillionTimesIsA400() {
        exceeded(new ChatTemplate(BILLION_LOOPS, "<s>", "</s>"), MESSAGES);
        TemplateLimits smallOutput = new TemplateLimits(100_000, TemplateLimits.DEFAULTS.maxSteps(),
                TemplateLimits.DEFAULTS.maxRenderTime());
        ApiException e = exceeded(new ChatTemplate(BILLION_LOOPS, "<s>", "</s>", smallOutput), MESSAGES);
        assertTrue(e.getMessage().contains("over limit of 100000"), e.getMessage());
    }

    @Test
    void emptyLoopsRunOutOfSteps() {
        String t = BILLION_LOOPS.replace("x", "");
        exceeded(new ChatTemplate(t, "<s>", "</s>"), MESSAGES);
        TemplateLimits stepsOnly = new TemplateLimits(1 << 20, 100_000, Duration.ofMinutes(10));
        ApiException e = exceeded(new ChatTemplate(t, "<s>", "</s>", stepsOnly), MESSAGES);
        assertTrue(e.getMessage().contains("more than 100000 steps"), e.getMessage());
    }

    @Test
    void aSlowTemplateRunsOutOfTime() {
        TemplateLimits slowOnly = new TemplateLimits(1 << 20, Long.MAX_VALUE, Duration.ofMillis(200));
        String t = BILLION_LOOPS.replace("x", "{% set z = a + b %}");
        ApiException e = exceeded(new ChatTemplate(t, "<s>", "</s>", slowOnly), MESSAGES);
        assertTrue(e.getMessage().contains("more than 200 ms"), e.getMessage());
    }

    @Test
    void macrosCallingMacrosRunOutOfSteps() {
        StringBuilder t = new StringBuilder("{% macro m0() %}x{% endmacro %}");
        for (int i = 1; i <= 12; i++) {
            String call = "{{ m" + (i - 1) + "() }}";
            t.append("{% macro m").append(i).append("() %}").append(call.repeat(10)).append("{% endmacro %}");
        }
        t.append("{{ m12() }}");
        TemplateLimits stepsOnly = new TemplateLimits(1 << 20, 100_000, Duration.ofMinutes(10));
        ApiException e = exceeded(new ChatTemplate(t.toString(), "<s>", "</s>", stepsOnly), MESSAGES);
        assertTrue(e.getMessage().contains("more than 100000 steps"), e.getMessage());
    }

    @Test
    void hugeAllocationsAreRefusedBeforeTheyHappen() {
        for (String t : List.of("{{ 'a'.repeat(2000000000) }}", "{% set s = 'a'.repeat(2000000000) %}ok",
                "{{ 'a'|center(2000000000) }}", "{{ 'a\nb'|indent(2000000000) }}",
                "{{ '%02000000000d'|format(1) }}", "{{ [1, 2]|batch(2000000000, 'x')|list|length }}",
                "{{ 'ab' * 2000000000 }}", "{{ [1, 2] * 2000000000 }}",
                "{% set ns = namespace(s='abcdefgh') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                        + "{{ ns.s }}",
                "{% set ns = namespace(s='abcdefgh') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
                        + "{{ ns.s }}",
                "{% set ns = namespace(l=[1, 2]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"
                        + "{{ ns.l|length }}")) {
            ApiException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> assertThrows(ApiException.class, () -> new ChatTemplate(t, "<s>", "</s>").render(MESSAGES,
                            true), t));
            assertEquals(400, e.status(), t);
        }
    }

    /**
     * Templates reach Python's string methods only, as in Jinja2: Java's regular-expression methods
     * (whose backtracking could hold a thread) and any other Java method are not there.
     */
    @Test
    void javaMethodsAreNotReachable() {
        for (String call : List.of("matches('(.*a){25}b')", "replaceAll('a', '')",
                "replaceFirst('a', '')", "getClass()", "repeat(3)", "getBytes()")) {
            String t = "{% for m in messages %}{{ m['content']." + call + " }}{% endfor %}";
            ApiException e = assertThrows(ApiException.class, () -> new ChatTemplate(t, "<s>", "</s>").render(MESSAGES,
                    true), call);
            assertEquals(400, e.status(), call);
            assertTrue(e.getMessage().startsWith("the chat template failed: "), call + ": " + e.getMessage());
        }
        String t = "{{ 'a,b,,c'.split(',')|length }} {{ 'abc'.startswith('a') }} {{ 'aXbX'.replace('X', '-') }}"
                + " {{ 'aXbX'.replace('X', '-', 1) }} {{ '  x '.strip() }}|{{ 'a b  c'.split() }}";
        assertEquals("4 True a-b- a-bX x|['a', 'b', 'c']", new ChatTemplate(t, "<s>", "</s>").render(MESSAGES, false));
    }

    /**
     * Templates built to exhaust the interpreter itself: deep nesting in the source (parser
     * recursion), a macro calling itself without end (render recursion), ranges beyond the
     * sandbox's, huge integers, and unterminated constructs. Each is a 400, never a dead thread.
     */
    @Test
    void templatesAttackingTheInterpreterAreA400() {
        List<String> hostile = List.of(
                "{{ " + "(".repeat(100_000) + "1" + ")".repeat(100_000) + " }}",
                "{{ " + "[".repeat(100_000) + "]".repeat(100_000) + " }}",
                "{{ " + "not ".repeat(100_000) + "true }}",
                "{{ " + "-".repeat(100_000) + "1 }}",
                "{{ 1" + "|abs".repeat(100_000) + " }}",
                "{{ x" + ".a".repeat(100_000) + " }}",
                "{% if true %}".repeat(10_000) + "x" + "{% endif %}".repeat(10_000),
                "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
                "{% macro m() %}{{ m() ~ m() }}{% endmacro %}{{ m() }}",
                "{{ range(1000000) | length }}", "{% for i in range(0, 10**12) %}{% endfor %}",
                "{{ 2 ** 100000 }}", "{{ 99999999999999999999999 }}", "{{ 10 ** 18 * 10 }}",
                "{% for", "{{ 'unterminated }}", "{% raw %}never closed", "{# never closed", "{% endfor %}",
                "{% unknowntag %}", "{{ 1 / 0 }}", "{{ 'a' * -1 }}{{ [1] * (2 ** 40) }}");
        for (String t : hostile) {
            String shown = t.length() > 60 ? t.substring(0, 60) + "..." : t;
            ApiException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> assertThrows(ApiException.class, () -> new ChatTemplate(t, "<s>", "</s>").render(MESSAGES,
                            true), shown));
            assertEquals(400, e.status(), shown);
            assertEquals("messages", e.param(), shown);
            assertTrue(e.getMessage().startsWith("the chat template "), shown + ": " + e.getMessage());
        }
    }

    @Test
    void replacementsThatWouldExceedTheOutputLimitAreRefused() {
        String grow = "{% set s = range(1001)|join('" + "a".repeat(1000) + "') %}"; // a million a's
        for (String t : List.of(grow + "{{ s|replace('a', '" + "b".repeat(100) + "')|length }}",
                grow + "{{ s.replace('a', '" + "b".repeat(100) + "')|length }}")) {
            ApiException e = exceeded(new ChatTemplate(t, "<s>", "</s>"), MESSAGES);
            assertTrue(e.getMessage().matches(".* would build 1\\d{8} characters, more than the output limit.*"),
                    e.getMessage());
        }
    }

    @Test
    void messageContentIsNeverInterpretedAsTemplate() {
        String content = "{{ 7 * 7 }}{% for i in range(3) %}X{% endfor %}";
        List<Map<String, Object>> m = List.of(Map.of("role", "user", "content", content));
        String t = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
        assertEquals(content, new ChatTemplate(t, "<s>", "</s>").render(m, false));
        assertEquals("User: " + content + "\nAssistant:", new ChatTemplate(null, "<s>", "</s>").render(m, true));
    }

    @Test
    void realTemplatesStillRenderLoopsAndTheirLoopVariables() {
        String t = "{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}!{% endif %}"
                + "{% for k in m %}.{% endfor %}{% endfor %}";
        assertEquals("1/2..2/2!..", new ChatTemplate(t, "<s>", "</s>").render(MESSAGES, false));
        String pairs = "{% for k, v in messages[1].items() %}{{ k }}={{ v }};{% endfor %}"
                + "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% if not loop.last %},{% endif %}{% endfor %}";
        Map<String, Object> ordered = new java.util.LinkedHashMap<>();
        ordered.put("role", "user");
        ordered.put("content", "Hi there");
        assertEquals("role=user;content=Hi there;3,7", new ChatTemplate(pairs, "<s>", "</s>").render(
                List.of(MESSAGES.get(0), ordered), false));
    }

    @Test
    void theLoadProbeWarnsAboutATemplateThatFailsEveryRequest() {
        Optional<String> w = new ChatTemplate(BILLION_LOOPS, "<s>", "</s>").probe();
        assertTrue(w.isPresent() && w.get().contains("exceeded its rendering limits"), w.toString());
        assertTrue(new ChatTemplate("{{ 'x' + 3 }}", "<s>", "</s>").probe().isPresent());
        assertTrue(new ChatTemplate("{% if %}", "<s>", "</s>").probe().get().contains("syntax error"));
        assertEquals(Optional.empty(), new ChatTemplate(null, "<s>", "</s>").probe());
        String rejectsSystem = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}"
                + "{% endif %}[INST]";
        assertEquals(Optional.empty(), new ChatTemplate(rejectsSystem, "<s>", "</s>").probe());
    }
}
