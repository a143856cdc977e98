package io.tessera.core.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.DecoderLayer;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tokenizer.GgufVocabulary;
import io.tessera.core.tokenizer.Vocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticModelTest {

    @TempDir
    Path dir;

    private Path synth(String shape, String type, long seed, int layers) throws Exception {
        Path out = dir.resolve(shape + "-" + type + "-" + seed + ".gguf");
        ModelShape s = ModelShape.named(shape).withLayers(layers);
        SyntheticModel.write(out, s, SyntheticVocabulary.generate(512, seed), WeightTypes.parse(type), seed);
        return out;
    }

    @Test
    void sameSeedGivesTheSameFileAndAnotherSeedAnother() throws Exception {
        Path a = synth("tiny-gqa", "Q8_0", 7, 2);
        Path b = dir.resolve("copy.gguf");
        Files.move(a, b);
        Path a2 = synth("tiny-gqa", "Q8_0", 7, 2);
        assertEquals(-1L, Files.mismatch(a2, b));
        assertNotEquals(-1L, Files.mismatch(a2, synth("tiny-gqa", "Q8_0", 8, 2)));
    }

    @Test
    void syntheticModelHasTheShapeItNamesAndRuns() throws Exception {
        Path file = synth("tiny-gqa", "Q4_0", 1, 4);
        ModelInfo info = ModelInfo.read(file);
        assertEquals(256, info.config().dim());
        assertEquals(32, info.config().heads());
        assertEquals(8, info.config().kvHeads());
        assertEquals(512, info.config().vocabSize());
        try (LoadedModel m = LoadedModel.open(file, null); Parallel p = new Parallel(2)) {
            assertFiniteLogits(m, p);
            String text = m.tokenizer().decode(m.tokenizer().encode("hello synthetic world", true));
            assertEquals(" hello synthetic world".strip(), text.strip(), "byte fallback round-trips any text");
        }
    }

    @Test
    void qwen2ShapeLoadsWithBiasesAndNeoxRope() throws Exception {
        Path file = synth("qwen2.5-0.5b", "Q8_0", 3, 1);
        try (LoadedModel m = LoadedModel.open(file, null); Parallel p = new Parallel(2)) {
            assertEquals("qwen2", m.model().config().architecture());
            assertEquals(RopeStyle.NEOX, m.model().config().ropeStyle());
            DecoderLayer l = m.model().layers().get(0);
            assertNotNull(l.attention().bq());
            assertEquals(896, l.attention().bq().length);
            assertEquals(128, l.attention().bk().length);
            assertTrue(m.model().tiedOutput());
            assertFiniteLogits(m, p);
        }
    }

    @Test
    void phi3FileCarriesThePiecesLlamaCppLooksUpAndKeepsEveryOtherId() throws Exception {
        Vocabulary generated = SyntheticVocabulary.generate(512, 9);
        for (String arch : new String[] {"phi3", "llama"}) {
            ModelShape shape = new ModelShape(arch + "-small", Architectures.named(arch).configure(new ModelConfig(arch,
                    64, 128, 1, 4, 4, 16, 512, 128, 10000f, RopeStyle.INTERLEAVED, 1e-5f)), false);
            Path file = dir.resolve(arch + "-small.gguf");
            SyntheticModel.write(file, shape, generated, WeightTypes.parse("F32"), 9);
            Vocabulary written;
            try (GgufFile gguf = GgufFile.open(file)) {
                written = GgufVocabulary.read(gguf.metadata());
            }
            assertEquals(512, written.size());
            List<String> added = arch.equals("phi3") ? List.of("<|endoftext|>", "<|end|>") : List.of();
            int changed = 0;
            for (int id = 0; id < 512; id++) {
                if (!written.piece(id).equals(generated.piece(id))) {
                    changed++;
                    assertTrue(added.contains(written.piece(id)), arch + ": piece " + id + " is " + written.piece(id));
                    assertEquals(Vocabulary.CONTROL, written.tokenType(id));
                }
            }
            assertEquals(added.size(), changed, arch + ": pieces replaced");
            for (String piece : List.of("<unk>", "<s>", "</s>")) {
                assertEquals(generated.id(piece), written.id(piece), piece);
            }
        }
    }

    @Test
    void q4kmMixUsesQ6KWhereLlamaCppDoes() throws Exception {
        Path file = synth("tiny-gqa", "Q4_K_M", 5, 8);
        try (LoadedModel m = LoadedModel.open(file, null)) {
            // moreBits(l, 8): l < 1, l >= 7, or (l - 1) % 3 == 2 → layers 0, 3, 6, 7
            assertEquals(GgmlType.Q6_K, m.model().output().type());
            for (int l = 0; l < 8; l++) {
                GgmlType expected = l == 0 || l == 3 || l == 6 || l == 7 ? GgmlType.Q6_K : GgmlType.Q4_K;
                assertEquals(expected, m.model().layers().get(l).attention().wv().type(), "attn_v of layer " + l);
                // ffn_down rows have 688 values, not a multiple of 256: F16, as llama.cpp falls back.
                assertEquals(GgmlType.F16, m.model().layers().get(l).feedForward().down().type(), "ffn_down of layer " + l);
                assertEquals(GgmlType.Q4_K, m.model().layers().get(l).attention().wq().type());
            }
        }
    }

    private static void assertFiniteLogits(LoadedModel m, Parallel p) {
        DecoderForward f = new DecoderForward(m.model(), p);
        int[] prompt = m.tokenizer().encode("once upon a time", true);
        float[] logits = f.forward(ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.LAST),
                new F32KvCache(m.model().config(), 2, 16));
        assertEquals(m.model().config().vocabSize(), logits.length);
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (float v : logits) {
            assertTrue(Float.isFinite(v));
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        assertTrue(max > min, "logits are not all equal");
    }
}
