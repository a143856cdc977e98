package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.core.tokenizer.BpeTokenizer;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.TokenizerJson;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A served model over a real Hugging Face tokenizer that names no BOS token (Qwen 3's), with a
 * ChatML template of the shape Qwen's use. Qwen 3's own template is checked against Jinja2 in
 * ChatTemplateParityTest and served in RealTokenizerChatTest.
 */
class ServedModelTest {

    @Test
    void aTokenizerWithoutBosServesAChatTemplate() throws Exception {
        Path dir = NpmTokenizers.qwen3();
        BpeTokenizer tokenizer = TokenizerJson.readDirectory(dir);
        assertEquals(-1, tokenizer.bos(), "Qwen 3 names no BOS token");
        String chatMl = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        ServedModel model = ServedModel.of("qwen3", tokenizer, 4096, chatMl);
        String prompt = model.chatTemplate().render(List.of(
                Map.of("role", "system", "content", "Be brief."),
                Map.of("role", "user", "content", "Hi")), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n", prompt);
    }
}
