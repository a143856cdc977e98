package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
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
}
