package io.tessera.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufArray;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.tensor.GgmlType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt hyperparameters, tensor sets and vocabularies that used to load and print garbage are
 * refused with an error naming the key or tensor at fault.
 */
class ModelValidationTest {

    @TempDir
    static Path dir;

    static Path good;

    @BeforeAll
    static void convert() throws Exception {
        good = Stories260K.convert(dir, "F32");
    }

    private static String refused(String name, Consumer<GgufWriter> edit) throws Exception {
        return GgufEdits.refusal(good, dir, name, edit);
    }

    @Test
    void theUneditedCopyLoads() throws Exception {
        Path copy = GgufEdits.rewrite(good, dir.resolve("copy.gguf"), w -> { });
        try (LoadedModel m = LoadedModel.open(copy, null)) {
            assertEquals(5, m.model().layers().size());
        }
    }

    @Test
    void infiniteRmsEpsilonIsRefused() throws Exception {
        String m = refused("eps-inf", w -> w.putFloat32("llama.attention.layer_norm_rms_epsilon",
                Float.POSITIVE_INFINITY));
        assertTrue(m.contains("key 'llama.attention.layer_norm_rms_epsilon': value Infinity is out of range"), m);
        refused("eps-one", w -> w.putFloat32("llama.attention.layer_norm_rms_epsilon", 1f));
        refused("eps-huge-f64", w -> w.putFloat64("llama.attention.layer_norm_rms_epsilon", 1e300));
    }

    @Test
    void infiniteOrTinyRopeBaseIsRefused() throws Exception {
        String m = refused("rope-inf", w -> w.putFloat32("llama.rope.freq_base", Float.POSITIVE_INFINITY));
        assertTrue(m.contains("key 'llama.rope.freq_base': value Infinity is out of range"), m);
        m = refused("rope-tiny", w -> w.putFloat32("llama.rope.freq_base", 1e-45f));
        assertTrue(m.contains("key 'llama.rope.freq_base'"), m);
        refused("rope-f64-inf", w -> w.putFloat64("llama.rope.freq_base", 1e300));
    }

    @Test
    void blockCountBelowTheTensorsPresentIsRefused() throws Exception {
        String m = refused("blocks-4", w -> w.putUInt32("llama.block_count", 4));
        assertTrue(m.contains("key 'llama.block_count': is 4 but the file has tensors of further blocks: "
                + "blk.4.attn_norm.weight, blk.4.attn_q.weight"), m);
        m = refused("blocks-1", w -> w.putUInt32("llama.block_count", 1));
        assertTrue(m.contains(" and 28 more"), m); // 4 blocks of 9 tensors, 8 named
    }

    @Test
    void tensorsBeyondTheBlocksOrUnknownToTheArchitectureAreNamed() throws Exception {
        String m = refused("extra-block", w -> w.addTensor("blk.7.attn_norm.weight", GgmlType.F32, new long[] {64},
                (r, d) -> Arrays.fill(d, 1f)));
        assertTrue(m.contains("further blocks: blk.7.attn_norm.weight"), m);
        m = refused("unknown-in-block", w -> w.addTensor("blk.0.attn_q_norm.weight", GgmlType.F32,
                new long[] {8}, (r, d) -> Arrays.fill(d, 1f)));
        assertTrue(m.contains("tensors: architecture 'llama' does not use blk.0.attn_q_norm.weight"), m);
    }

    @Test
    void tokenScoresStoredAsIntegersAreRefused() throws Exception {
        int[] scores = new int[512];
        Arrays.fill(scores, 7);
        String m = refused("scores-u32", w -> w.putArray("tokenizer.ggml.scores", GgufArray.ofUInt32(scores)));
        assertTrue(m.contains("key 'tokenizer.ggml.scores': is an array of uint32, expected an array of float32"), m);
        float[] nan = new float[512];
        nan[3] = Float.NaN;
        m = refused("scores-nan", w -> w.putFloatArray("tokenizer.ggml.scores", nan));
        assertTrue(m.contains("score NaN of token 3 is not finite"), m);
    }

    @Test
    void everyOtherHyperparameterIsRangeChecked() throws Exception {
        String[][] cases = {
            {"ctx-zero", "llama.context_length", "0"},
            {"ctx-huge", "llama.context_length", "2000000000"},
            {"dim-huge", "llama.embedding_length", "1000000"},
            {"ffn-huge", "llama.feed_forward_length", "100000000"},
            {"blocks-huge", "llama.block_count", "100000"},
            {"heads-huge", "llama.attention.head_count", "100000"},
            {"kv-above-heads", "llama.attention.head_count_kv", "16"},
            {"kv-not-dividing", "llama.attention.head_count_kv", "3"},
            {"keylen-odd", "llama.attention.key_length", "7"},
            {"keylen-huge", "llama.attention.key_length", "100000"},
            {"valuelen", "llama.attention.value_length", "16"},
            {"rope-dims", "llama.rope.dimension_count", "4"},
            {"vocab-huge", "llama.vocab_size", "100000000"},
        };
        for (String[] c : cases) {
            String m = refused(c[0], w -> w.putUInt32(c[1], Long.parseLong(c[2])));
            assertTrue(m.contains("key '" + c[1] + "'"), c[0] + ": " + m);
        }
        String m0 = refused("vocab-other", w -> w.putUInt32("llama.vocab_size", 511));
        assertTrue(m0.contains("tensor 'token_embd.weight': shape [64, 512] does not match"), m0);
        String m = refused("heads-not-dividing", w -> w.remove("llama.attention.key_length").putUInt32(
                "llama.attention.head_count", 6).putUInt32("llama.attention.head_count_kv", 3));
        assertTrue(m.contains("key 'llama.attention.head_count': 6 heads do not divide the embedding length 64"), m);
    }

    @Test
    void aTokenizerOfAnotherVocabularyIsRefused() throws Exception {
        Path big = TestModels.file("tokenizer-llama2-32k.bin");
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LoadedModel.open(TestModels.stories260K(), big).close());
        assertEquals("stories260K.bin: tokenizer: the tokenizer (tokenizer tokenizer-llama2-32k.bin) has 32000 tokens"
                + " but the model's embedding has 512 rows; pass the tokenizer the model was trained with",
                e.getMessage());
        // The same for a GGUF model given a separate tokenizer file.
        assertThrows(ModelFormatException.class, () -> LoadedModel.open(good, big).close());
        try (LoadedModel ok = LoadedModel.open(TestModels.stories260K(), TestModels.tok512())) {
            assertEquals(512, ok.tokenizer().vocabSize());
        }
    }

    @Test
    void controlCharactersFromTheFileAreEscapedInErrors() throws Exception {
        String m = refused("ansi", w -> w.putString("general.architecture", "\u001b[2J\u001b[31mllama\u202e\u0007"));
        assertFalse(m.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == 0x202e), m);
        assertTrue(m.contains("architecture '\\x1b[2J\\x1b[31mllama\\u202e\\x07' is not supported"), m);
        m = refused("ansi-tokenizer", w -> w.putString("tokenizer.ggml.model", "gpt2\u001b]0;pwned\u0007\n"));
        assertTrue(m.contains("tokenizer model 'gpt2\\x1b]0;pwned\\x07\\n' is not supported"), m);
    }

    @Test
    void endOfTurnTokensEndGenerationAndMustBeInTheVocabulary() throws Exception {
        Path withEot = GgufEdits.rewrite(good, dir.resolve("eot.gguf"), w -> w.putUInt32("tokenizer.ggml.eot_token_id", 5));
        try (LoadedModel m = LoadedModel.open(withEot, null)) {
            assertArrayEquals(new int[] {m.tokenizer().eos(), 5}, m.eosTokenIds());
        }
        Path outside = GgufEdits.rewrite(good, dir.resolve("eot-out.gguf"),
                w -> w.putUInt32("tokenizer.ggml.eot_token_id", 512));
        var e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(outside, null).close());
        assertTrue(e.getMessage().contains("token id 512 is outside the vocabulary of 512 tokens"), e.getMessage());
    }
}
