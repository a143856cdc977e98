package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stories260K tokenizer against the reference outputs of llama2.c's run.c. */
class Tok512GoldenTest {
    static SentencePieceBpeTokenizer tokenizer;
    static JsonNode cases;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = new SentencePieceBpeTokenizer(Llama2cTokenizerReader.read(TestModels.file("tok512.bin"), 512));
        cases = new ObjectMapper().readTree(TestModels.file("golden/stories260K-greedy.json").toFile()).get("cases");
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    @Test
    void vocabularyShape() {
        Vocabulary v = tokenizer.vocabulary();
        assertEquals(512, v.size());
        assertEquals(' ', v.spaceMarker());
        assertEquals("<s>", v.piece(1));
        assertEquals(Vocabulary.CONTROL, v.tokenType(2));
        assertEquals(Vocabulary.UNKNOWN, v.tokenType(0));
        for (int b = 0; b < 256; b++) {
            assertEquals(3 + b, v.byteId(b));
            assertEquals(Vocabulary.BYTE, v.tokenType(3 + b));
        }
    }

    @Test
    void promptsEncodeLikeTheReference() {
        assertEquals(7, cases.size());
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            assertArrayEquals(ints(c.get("prompt_tokens")), tokenizer.encode(prompt, true), () -> "prompt " + prompt);
        }
    }

    @Test
    void generatedTokensDecodeLikeTheReference() {
        for (JsonNode c : cases) {
            int[] prompt = ints(c.get("prompt_tokens"));
            int[] generated = ints(c.get("generated_after_prompt"));
            int[] all = new int[prompt.length + generated.length];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            System.arraycopy(generated, 0, all, prompt.length, generated.length);
            // run.c prints piece by piece and drops single bytes that are not printable on their own.
            StringBuilder printed = new StringBuilder();
            for (int i = 1; i < all.length; i++) {
                int b = Vocabulary.byteValue(tokenizer.piece(all[i]));
                if (b >= 0 && !(b >= 0x20 && b < 0x7F) && " \t\n\u000b\f\r".indexOf(b) < 0) continue;
                printed.append(tokenizer.decode(all, i, i + 1));
            }
            // The recorded text ends without its trailing newline (run.c's own final "\n" was trimmed with it).
            String expected = c.get("stdout_text").asText();
            String actual = printed.toString().replaceAll("\n+$", "");
            assertEquals(expected, actual, () -> "case " + c.get("prompt"));
            // A whole decode differs only by keeping the multi-byte characters run.c dropped.
            String whole = tokenizer.decode(all);
            assertEquals(c.get("prompt").asText(), whole.substring(0, c.get("prompt").asText().length()));
        }
    }

    @Test
    void decodeOfEncodeRoundTrips() {
        List<String> texts = new ArrayList<>();
        for (JsonNode c : cases) texts.add(c.get("prompt").asText());
        texts.add("Tom said 你好 to Sue 😀\n");
        for (String t : texts) {
            assertEquals(t, tokenizer.decode(tokenizer.encode(t, true)));
        }
    }
}
