package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {
    static SentencePieceBpeTokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        tok = new SentencePieceBpeTokenizer(Llama2cTokenizerReader.read(TestModels.file("tok512.bin"), 512));
    }

    static int b(int value) {
        return 3 + value; // byte pieces of llama2.c files
    }

    static String stream(int[] ids) {
        StreamingDecoder d = tok.newStreamingDecoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.push(id));
        return sb.append(d.flush()).toString();
    }

    @Test
    void emojiSplitInFourByteTokensAppearsOnlyWhenComplete() {
        StreamingDecoder d = tok.newStreamingDecoder();
        assertEquals("", d.push(1));
        assertEquals("", d.push(b(0xF0)));
        assertTrue(d.hasPending());
        assertEquals("", d.push(b(0x9F)));
        assertEquals("", d.push(b(0x98)));
        assertEquals("😀", d.push(b(0x80)));
        assertFalse(d.hasPending());
        assertEquals("", d.flush());
    }

    @Test
    void invalidBytesBecomeReplacementOnceCertain() {
        StreamingDecoder d = tok.newStreamingDecoder();
        assertEquals("", d.push(b(0xE4)));
        assertEquals("", d.push(b(0xBD)));
        // 'A' cannot continue the sequence: the two held bytes are one invalid sequence.
        assertEquals("\uFFFDA", d.push(b('A')));
        assertEquals("\uFFFD", d.push(b(0xFF)));
        assertEquals("", d.push(b(0xC3)));
        assertEquals("\uFFFD", d.flush());
        assertEquals("\uFFFDA\uFFFD\uFFFD", tok.decode(new int[] {b(0xE4), b(0xBD), b('A'), b(0xFF), b(0xC3)}));
        // Surrogates and overlong forms are invalid.
        assertEquals("\uFFFD\uFFFD\uFFFD", tok.decode(new int[] {b(0xED), b(0xA0), b(0x80)}));
        assertEquals("\uFFFD\uFFFD", tok.decode(new int[] {b(0xC0), b(0xAF)}));
    }

    @Test
    void leadingSpaceAfterBosIsStripped() {
        int[] ids = tok.encode("Once upon a time", true);
        StreamingDecoder d = tok.newStreamingDecoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.push(id));
        assertEquals("Once upon a time", sb.toString());
        // Continuing after the prompt: the space before generated text is kept, except after a bare BOS.
        assertEquals(" upon", tok.newStreamingDecoder(403).push(tok.encode("Once upon", false)[1]));
        assertEquals("upon", tok.newStreamingDecoder(1).push(tok.encode("Once upon", false)[1]));
    }

    @Test
    void randomSequencesStreamLikeDecode() {
        SplittableRandom rnd = new SplittableRandom(42);
        String[] samples = {"😀", "你好", "é", "a", " ", "\n", "🦙🤖", "ß"};
        for (int trial = 0; trial < 500; trial++) {
            int n = rnd.nextInt(40);
            int[] ids = new int[n];
            for (int i = 0; i < n; ) {
                int kind = rnd.nextInt(4);
                if (kind == 0) {
                    // A real character as byte tokens, possibly cut short to make invalid input.
                    byte[] bytes = samples[rnd.nextInt(samples.length)].getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    int keep = rnd.nextInt(8) == 0 ? rnd.nextInt(bytes.length + 1) : bytes.length;
                    for (int k = 0; k < keep && i < n; k++) ids[i++] = b(bytes[k] & 0xFF);
                } else if (kind == 1) {
                    ids[i++] = b(rnd.nextInt(256));
                } else {
                    ids[i++] = rnd.nextInt(tok.vocabSize());
                }
            }
            assertEquals(tok.decode(ids), stream(ids), () -> java.util.Arrays.toString(ids));
        }
    }
}
