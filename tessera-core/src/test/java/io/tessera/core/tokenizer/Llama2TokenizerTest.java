package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.io.IOException;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The real Llama 2 tokenizer. Expected ids are those of SentencePiece 0.1.97 itself on
 * tokenizer-llama2-32k.model, with BOS prepended. Every case runs twice: on the llama2.c file
 * (spaces as ' ') and on the same vocabulary rewritten the way GGUF stores it (spaces as U+2581,
 * explicit token types), so both space conventions are covered.
 */
class Llama2TokenizerTest {
    static SentencePieceBpeTokenizer llama2c;
    static SentencePieceBpeTokenizer ggufStyle;

    @BeforeAll
    static void load() throws IOException {
        Vocabulary v = Llama2cTokenizerReader.read(TestModels.file("tokenizer-llama2-32k.bin"), 32000);
        llama2c = new SentencePieceBpeTokenizer(v);
        String[] pieces = new String[v.size()];
        float[] scores = new float[v.size()];
        int[] types = new int[v.size()];
        for (int i = 0; i < v.size(); i++) {
            types[i] = v.tokenType(i);
            pieces[i] = types[i] == Vocabulary.NORMAL ? v.piece(i).replace(' ', Vocabulary.SPM_SPACE) : v.piece(i);
            scores[i] = v.score(i);
        }
        ggufStyle = new SentencePieceBpeTokenizer(new Vocabulary(pieces, scores, types, 1, 2, 0, -1, true, true));
    }

    static Stream<Arguments> knownEncodings() {
        return Stream.of(
                Arguments.of("Hello world", new int[] {1, 15043, 3186}),
                Arguments.of("Hello", new int[] {1, 15043}),
                Arguments.of(" Hello", new int[] {1, 29871, 15043}),
                Arguments.of("  Hello", new int[] {1, 259, 15043}),
                Arguments.of("Hello  world  ", new int[] {1, 15043, 29871, 3186, 259}),
                Arguments.of("  multiple   spaces  ", new int[] {1, 259, 2999, 259, 8162, 259}),
                Arguments.of("   ", new int[] {1, 268}),
                Arguments.of("trailing   ", new int[] {1, 25053, 1678}),
                Arguments.of("trailing \n", new int[] {1, 25053, 29871, 13}),
                Arguments.of("\n", new int[] {1, 29871, 13}),
                Arguments.of("a\nb", new int[] {1, 263, 13, 29890}),
                Arguments.of("x\n\ny\r\nz", new int[] {1, 921, 13, 13, 29891, 30004, 13, 29920}),
                Arguments.of("Hello\n\nworld", new int[] {1, 15043, 13, 13, 11526}),
                Arguments.of("tab\there", new int[] {1, 4434, 12, 4150}),
                Arguments.of("Once upon a time", new int[] {1, 9038, 2501, 263, 931}),
                Arguments.of("I'm", new int[] {1, 306, 29915, 29885}),
                Arguments.of("<s>", new int[] {1, 529, 29879, 29958}),
                Arguments.of("你好", new int[] {1, 29871, 30919, 31076}),
                Arguments.of("ñ", new int[] {1, 29871, 30046}),
                Arguments.of("héllo wörld", new int[] {1, 298, 3610, 417, 281, 1340, 430}),
                Arguments.of("😀", new int[] {1, 29871, 243, 162, 155, 131}),
                Arguments.of("emoji 🤖 robot", new int[] {1, 953, 29877, 2397, 29871, 243, 162, 167, 153, 19964}),
                Arguments.of("emoji 🦙🤖 and ZWJ 👩\u200d💻", new int[] {1, 953, 29877, 2397, 29871, 243, 162, 169,
                        156, 243, 162, 167, 153, 322, 796, 29956, 29967, 29871, 243, 162, 148, 172, 30722, 243, 162,
                        149, 190}),
                Arguments.of("Hello world!\n\tThe quick brown fox — jumps over the lazy dog. Ünïcödé: naïve café, "
                        + "日本語のテキスト, Привет мир.", new int[] {1, 15043, 3186, 29991, 13, 12, 1576, 4996, 17354,
                        1701, 29916, 813, 432, 17204, 975, 278, 17366, 11203, 29889, 7189, 29876, 30085, 29883, 9289,
                        29948, 29901, 1055, 30085, 345, 274, 28059, 29892, 29871, 30325, 30346, 30968, 30199, 30572,
                        30454, 30255, 30279, 29892, 7203, 7616, 4157, 29927, 29889}),
                Arguments.of("", new int[] {1}));
    }

    @ParameterizedTest
    @MethodSource("knownEncodings")
    void encodesLikeSentencePiece(String text, int[] expected) {
        assertArrayEquals(expected, llama2c.encode(text, true), "llama2.c vocabulary");
        assertArrayEquals(expected, ggufStyle.encode(text, true), "GGUF-style vocabulary");
        assertEquals(text, llama2c.decode(expected));
        assertEquals(text, ggufStyle.decode(expected));
    }

    @Test
    void spaceMarkerIsDetected() {
        assertEquals(' ', llama2c.vocabulary().spaceMarker());
        assertEquals(Vocabulary.SPM_SPACE, ggufStyle.vocabulary().spaceMarker());
    }

    @Test
    void withoutBos() {
        assertArrayEquals(new int[] {15043, 3186}, llama2c.encode("Hello world", false));
        assertArrayEquals(new int[0], llama2c.encode("", false));
        // Only a piece right after BOS loses its dummy-prefix space.
        assertEquals(" Hello world", llama2c.decode(new int[] {15043, 3186}));
    }

    @Test
    void specialTokensAreTextUnlessParsingIsAsked() {
        assertArrayEquals(new int[] {1, 529, 29879, 29958}, llama2c.encode("<s>", true, false));
        assertArrayEquals(new int[] {1, 1}, llama2c.encode("<s>", true, true));
        // Text after a special token gets the dummy prefix again, as llama.cpp does.
        assertArrayEquals(new int[] {1, 15043, 2, 1, 3186}, llama2c.encode("Hello</s><s>world", true, true));
        assertArrayEquals(new int[] {1, 15043, 2, 1, 3186}, ggufStyle.encode("Hello</s><s>world", true, true));
    }

    @Test
    void controlTokensDecodeToNothing() {
        assertTrue(llama2c.isSpecial(1));
        assertTrue(llama2c.isSpecial(2));
        assertFalse(llama2c.isSpecial(15043));
        assertEquals("Hello world", llama2c.decode(new int[] {1, 15043, 3186, 2}));
        assertEquals("<s>", llama2c.piece(1));
    }

    @Test
    void longPromptIsNotQuadratic() {
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "naïve", "日本", "🦙"};
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        while (sb.length() < 200_000) {
            sb.append(words[rnd.nextInt(words.length)]).append(rnd.nextInt(8) == 0 ? "\n" : " ");
        }
        String text = sb.toString();
        int[] ids = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> llama2c.encode(text, true));
        assertTrue(ids.length > 30_000, "tokens: " + ids.length);
        assertEquals(text, llama2c.decode(ids));
    }
}
