package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real tokenizer.json files (Llama 3, Qwen 3, DeepSeek V3 and GPT-4o byte-level BPE; Llama 2 and
 * Gemma 3 SentencePiece BPE) encode
 * every text of {@link TokenizerCorpus} exactly as Hugging Face's Rust tokenizers do, with and
 * without special tokens, and decode as they do.
 */
class HfTokenizerParityTest {

    record Case(String name, Supplier<Path> models, List<String> specials, boolean nfc) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> tokenizers() {
        return Stream.of(
                Arguments.of(new Case("llama3", NpmTokenizers::llama3,
                        List.of("<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>"), false)),
                Arguments.of(new Case("qwen3", NpmTokenizers::qwen3,
                        List.of("<|im_start|>", "<|im_end|>", "<think>", "<|endoftext|>"), true)),
                Arguments.of(new Case("llama2", NpmTokenizers::llama2, List.of("<s>", "</s>", "<unk>"), false)),
                Arguments.of(new Case("deepseek-v3", NpmTokenizers::deepseekV3,
                        List.of("<｜begin▁of▁sentence｜>", "<｜User｜>", "<think>"), false)),
                Arguments.of(new Case("gpt-4o", NpmTokenizers::gpt4o, List.of("<|endoftext|>", "<|endofprompt|>"), false)),
                Arguments.of(new Case("gemma3", NpmTokenizers::gemma3,
                        List.of("<bos>", "<start_of_turn>", "<end_of_turn>", "<unused0>"), false)));
    }

    // Each tokenizer (tens of MB of JSON for the large ones) is loaded once for all the tests.
    private static final Map<String, BpeTokenizer> TOKENIZERS = new ConcurrentHashMap<>();
    private static final Map<String, HfOracle> ORACLES = new ConcurrentHashMap<>();

    private static BpeTokenizer load(Case c) throws IOException {
        BpeTokenizer t = TOKENIZERS.get(c.name);
        if (t == null) {
            t = TokenizerJson.readDirectory(c.models.get());
            TOKENIZERS.put(c.name, t);
        }
        return t;
    }

    private static HfOracle oracle(Case c) throws IOException {
        HfOracle o = ORACLES.get(c.name);
        if (o == null) {
            o = HfOracle.load(c.models.get().resolve("tokenizer.json"));
            ORACLES.put(c.name, o);
        }
        return o;
    }

    @AfterAll
    static void closeOracles() {
        ORACLES.values().forEach(HfOracle::close);
        ORACLES.clear();
        TOKENIZERS.clear();
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void encodingMatchesHuggingFace(Case c) throws IOException {
        BpeTokenizer tok = load(c);
        List<String> texts = TokenizerCorpus.texts(c.specials);
        List<String> mismatches = new ArrayList<>();
        int compared = 0;
        HfOracle oracle = oracle(c);
        for (String text : texts) {
            for (boolean special : new boolean[] {true, false}) {
                compared++;
                int[] want = oracle.encode(text, special);
                int[] got = tok.encode(text, special, true);
                if (!Arrays.equals(want, got)) {
                    mismatches.add((special ? "[special] " : "[plain] ") + text + "\n  hf:      "
                            + Arrays.toString(want) + "\n  tessera: " + Arrays.toString(got));
                }
            }
        }
        assertTrue(compared >= 2 * 80, "corpus too small: " + compared);
        assertEquals(List.of(), mismatches, c + ": " + mismatches.size() + " of " + compared + " encodings differ");
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void decodingMatchesHuggingFaceSkippingSpecialTokens(Case c) throws IOException {
        BpeTokenizer tok = load(c);
        List<String> mismatches = new ArrayList<>();
        HfOracle oracle = oracle(c);
        for (String text : TokenizerCorpus.texts(c.specials)) {
            int[] ids = tok.encode(text, true, true);
            String want = oracle.decode(ids, true);
            String got = tok.decode(ids);
            if (!want.equals(got)) mismatches.add(text + " -> hf '" + want + "' tessera '" + got + "'");
        }
        assertEquals(List.of(), mismatches, c + ": decodings differ");
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void decodeOfEncodeGivesTheTextBack(Case c) throws IOException {
        BpeTokenizer tok = load(c);
        for (String text : TokenizerCorpus.texts(c.specials)) {
            // Special-token strings stay text when not parsed, so they come back too.
            String expected = c.nfc ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
            assertEquals(expected, tok.decode(tok.encode(text, true, false)), c + ": " + text);
        }
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void streamingDecodeNeverEmitsHalfACharacter(Case c) throws IOException {
        BpeTokenizer tok = load(c);
        int held = 0;
        for (String text : TokenizerCorpus.texts(c.specials)) {
            int[] ids = tok.encode(text, true, true);
            StreamingDecoder d = tok.newStreamingDecoder();
            StringBuilder all = new StringBuilder();
            for (int id : ids) {
                String piece = d.push(id);
                if (d.hasPending()) held++;
                assertWellFormed(piece, text);
                assertFalse(piece.contains("\uFFFD") && !text.contains("\uFFFD"),
                        "replacement character in " + piece + " for " + text);
                all.append(piece);
            }
            String rest = d.flush();
            assertWellFormed(rest, text);
            all.append(rest);
            assertEquals(tok.decode(ids), all.toString(), c + ": " + text);
        }
        // Byte-level tokens split multi-byte characters, so some pushes must have held bytes back.
        assertTrue(held > 0, c + ": no token ended inside a character; the corpus does not test streaming");
    }

    private static void assertWellFormed(String s, String source) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (Character.isHighSurrogate(ch)) {
                assertTrue(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)),
                        "lone high surrogate in a streamed piece of " + source);
                i++;
            } else {
                assertFalse(Character.isLowSurrogate(ch), "lone low surrogate in a streamed piece of " + source);
            }
        }
    }
}
