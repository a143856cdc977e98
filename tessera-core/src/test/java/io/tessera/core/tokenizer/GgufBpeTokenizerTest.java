package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Byte-level BPE stored in GGUF ({@code tokenizer.ggml.model = gpt2}) encodes as its tokenizer.json. */
class GgufBpeTokenizerTest {
    @TempDir
    Path dir;

    private Tokenizer roundTrip(BpeTokenizer source, String pre) throws IOException {
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        GgufTokenizers.writeBpe(source, pre, w);
        Path file = dir.resolve("tok.gguf");
        w.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            return GgufTokenizers.read(gguf.metadata());
        }
    }

    static Stream<Arguments> vocabularies() {
        return Stream.of(
                Arguments.of("llama-bpe", (Supplier<Path>) NpmTokenizers::llama3, "<|eot_id|>", false),
                Arguments.of("deepseek-v3", (Supplier<Path>) NpmTokenizers::deepseekV3, "<｜User｜>", false),
                Arguments.of("gpt-4o", (Supplier<Path>) NpmTokenizers::gpt4o, "<|endoftext|>", false),
                // llama.cpp does not apply Qwen's NFC normalizer: compare on NFC text.
                Arguments.of("qwen2", (Supplier<Path>) NpmTokenizers::qwen3, "<|im_end|>", true));
    }

    /** The named pre-tokenizer of the GGUF splits as the regexes of the model's own tokenizer.json. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabularies")
    void vocabularyInGgufEncodesAsItsTokenizerJson(String pre, Supplier<Path> models, String special, boolean nfc)
            throws IOException {
        BpeTokenizer json = TokenizerJson.readDirectory(models.get());
        Tokenizer gguf = roundTrip(json, pre);
        assertInstanceOf(BpeTokenizer.class, gguf);
        assertEquals(json.vocabSize(), gguf.vocabSize());
        List<String> texts = TokenizerCorpus.texts(List.of(special));
        for (String raw : texts) {
            String text = nfc ? Normalizer.normalize(raw, Normalizer.Form.NFC) : raw;
            for (boolean parseSpecial : new boolean[] {true, false}) {
                int[] want = json.encode(text, false, parseSpecial);
                int[] got = gguf.encode(text, false, parseSpecial);
                assertArrayEquals(want, got, pre + " parseSpecial=" + parseSpecial + ": " + text);
                assertEquals(json.decode(want), gguf.decode(got), text);
            }
        }
        int id = json.id(special);
        assertEquals(json.isSpecial(id), gguf.isSpecial(id), "special added tokens are control tokens, others user-defined");
        assertEquals(special, gguf.piece(id));
    }

    @Test
    void addBosTokenAddsTheBosId() throws IOException {
        BpeTokenizer json = TokenizerJson.readDirectory(NpmTokenizers.llama3());
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        GgufTokenizers.writeBpe(json, "llama-bpe", w);
        w.putUInt32("tokenizer.ggml.bos_token_id", json.id("<|begin_of_text|>"));
        w.putBool("tokenizer.ggml.add_bos_token", true);
        Path file = dir.resolve("bos.gguf");
        w.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            Tokenizer t = GgufTokenizers.read(gguf.metadata());
            int[] ids = t.encode("Hello", true, false);
            assertEquals(json.id("<|begin_of_text|>"), ids[0]);
            assertArrayEquals(json.encode("Hello", false, false), java.util.Arrays.copyOfRange(ids, 1, ids.length));
            assertEquals("Hello", t.decode(ids));
        }
    }

    @Test
    void unknownPreTokenizerIsRefusedByName() throws IOException {
        BpeTokenizer json = TokenizerJson.readDirectory(NpmTokenizers.llama3());
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        GgufTokenizers.writeBpe(json, "llama-bpe", w);
        w.putString("tokenizer.ggml.pre", "no-such-pre");
        Path file = dir.resolve("pre.gguf");
        w.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufTokenizers.read(gguf.metadata()));
            assertTrue(e.getMessage().contains("tokenizer.ggml.pre") && e.getMessage().contains("no-such-pre"),
                    e.getMessage());
        }
    }

    @Test
    void unknownTokenizerModelIsRefusedByName() throws IOException {
        Path file = dir.resolve("model.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "bert")
                .putStringArray("tokenizer.ggml.tokens", "a", "b").write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufTokenizers.read(gguf.metadata()));
            assertTrue(e.getMessage().contains("'bert'"), e.getMessage());
        }
    }

    @Test
    void everyNamedPreTokenizerCompiles() {
        for (String pre : List.of("default", "llama-bpe", "llama3", "qwen2", "deepseek-v3", "gpt-4o", "gpt2")) {
            PreTokenizer p = GgufBpePreTokenizers.forName(pre);
            StringBuilder pieces = new StringBuilder();
            p.split("Hello world 12345 日本語!!", true, (piece, first) -> pieces.append('|').append(piece));
            assertTrue(pieces.toString().contains("Hello"), pre + ": " + pieces);
        }
    }
}
