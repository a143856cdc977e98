package io.tessera.core.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every family of the registry, written as a small F32 GGUF file, loaded through the registry and
 * run by the shared blocks, against {@link ReferenceDecoder} at every position of a prompt.
 */
class ArchitecturesTest {

    private static final int VOCAB = 300;

    @TempDir
    Path dir;

    /** A small shape of each family, plus Llama with each rope scaling the blocks implement. */
    static Stream<ModelShape> families() {
        ModelConfig llama = config("llama", 64, 8, 2, 8); // 8 query heads over 2 KV heads of 8
        return Stream.of(
                new ModelShape("llama", llama, false),
                new ModelShape("mistral", config("mistral", 64, 4, 4, 16), true),
                new ModelShape("qwen2", config("qwen2", 64, 8, 2, 8), true),
                // heads of 32: a query width of 256 over an embedding of 64, as Qwen 3's 128 over 1024
                new ModelShape("qwen3", config("qwen3", 64, 8, 4, 32), true),
                // 7 layers: layers 0-4 and 6 local (window 5), layer 5 global
                new ModelShape("gemma3", gemma3(), true),
                // fused attn_qkv and ffn_up, cut into row slices at bind time
                new ModelShape("phi3", config("phi3", 64, 4, 4, 16), false),
                // linear rope scaling stretches the global layers only
                new ModelShape("gemma3-rope-linear",
                        gemma3().withRope(RopeStyle.NEOX, RopeScaling.linear(8f)), true),
                new ModelShape("llama-rope-linear", llama.withRope(RopeStyle.INTERLEAVED, RopeScaling.linear(4f)),
                        false),
                new ModelShape("llama-rope-llama3",
                        llama.withRope(RopeStyle.INTERLEAVED, RopeScaling.llama3(8f, 1f, 4f, 64)), false));
    }

    private static ModelConfig gemma3() {
        ModelConfig c = Architectures.named("gemma3").configure(new ModelConfig("gemma3", 64, 96, 7, 4, 1, 32, VOCAB,
                128, 1000000f, RopeStyle.INTERLEAVED, 1e-6f));
        return c.withAttention(c.attention().withSlidingWindow(5));
    }

    private static ModelConfig config(String arch, int dim, int heads, int kvHeads, int headDim) {
        return Architectures.named(arch).configure(new ModelConfig(arch, dim, 96, 2, heads, kvHeads, headDim, VOCAB,
                128, 10000f, RopeStyle.INTERLEAVED, 1e-5f));
    }

    @ParameterizedTest
    @MethodSource("families")
    void familyMatchesTheReferenceForwardAtEveryPosition(ModelShape shape) throws Exception {
        Path file = dir.resolve(shape.name() + ".gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 21);
        int[] prompt = new Random(shape.name().hashCode()).ints(40, 0, VOCAB).toArray();
        try (Model m = ModelLoader.load(file); Parallel p = new Parallel(2)) {
            ModelConfig written = shape.config();
            if (written.ropeScaling().type() == RopeScaling.Type.LLAMA3) {
                // GGUF keeps Llama 3's scaling as the factors themselves (rope_freqs), not as keys
                written = written.withRope(written.ropeStyle(), RopeScaling.NONE);
                assertNotNull(m.ropeFrequencyFactors());
            }
            assertEquals(written, m.config(), "the configuration survives the round trip through GGUF");
            float[] got = new DecoderForward(m, p).forward(
                    ForwardBatch.single(new int[] {0, 1, 2}, prompt, 0, ForwardBatch.Logits.ALL),
                    new F32KvCache(m.config(), 3, 16));
            double[][] want = new ReferenceDecoder(m).logits(prompt);
            double worst = 0;
            double largest = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    largest = Math.max(largest, Math.abs(want[t][v]));
                    worst = Math.max(worst, Math.abs(want[t][v] - got[t * VOCAB + v]));
                }
            }
            // float sums of a few hundred products against double ones: ~1e-6 relative per step
            assertTrue(worst <= 1e-4 * Math.max(1, largest), shape.name() + ": logits differ by " + worst
                    + " (largest " + largest + ")");
        }
    }

    /** The shared blocks' options no family here uses yet, each on its own, against the reference. */
    static Stream<Arguments> blockOptions() {
        return Stream.of(
                Arguments.of("GeGLU", (UnaryOperator<ModelConfig>) c -> c.withFeedForward(FeedForwardKind.GEGLU)),
                Arguments.of("sliding window 5",
                        (UnaryOperator<ModelConfig>) c -> c.withAttention(c.attention().withSlidingWindow(5))),
                Arguments.of("attention soft-cap 0.5",
                        (UnaryOperator<ModelConfig>) c -> c.withAttention(c.attention().withLogitSoftcap(0.5f))),
                Arguments.of("final soft-cap 2", (UnaryOperator<ModelConfig>) c -> c.withFinalLogitSoftcap(2f)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockOptions")
    void blockOptionMatchesTheReference(String name, UnaryOperator<ModelConfig> option) throws Exception {
        ModelShape shape = families().findFirst().orElseThrow();
        Path file = dir.resolve("options.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 5);
        int[] prompt = new Random(7).ints(24, 0, VOCAB).toArray();
        try (Model plain = ModelLoader.load(file); Parallel p = new Parallel(2)) {
            Model m = new Model(plain.source(), option.apply(plain.config()), plain.tokenEmbedding(), plain.layers(),
                    plain.finalNorm(), plain.output(), () -> { });
            float[] got = new DecoderForward(m, p).forward(
                    ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                    new F32KvCache(m.config(), 2, 16));
            double[][] want = new ReferenceDecoder(m).logits(prompt);
            double[][] without = new ReferenceDecoder(plain).logits(prompt);
            double worst = 0;
            double largest = 0;
            double effect = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    largest = Math.max(largest, Math.abs(want[t][v]));
                    worst = Math.max(worst, Math.abs(want[t][v] - got[t * VOCAB + v]));
                    effect = Math.max(effect, Math.abs(want[t][v] - without[t][v]));
                }
            }
            assertTrue(effect > 1e-2 * largest, name + " changes the logits (by " + effect + ")");
            assertTrue(worst <= 1e-4 * Math.max(1, largest), name + ": logits differ by " + worst);
        }
    }

    @Test
    void qwen3FileWithoutItsQkNormIsRefusedNamingTheTensor() throws Exception {
        ModelConfig qwen3 = config("qwen3", 64, 8, 4, 32);
        // written without the per-head norm weights the qwen3 family binds
        ModelShape shape = new ModelShape("broken", qwen3.withAttention(qwen3.attention().withQkNorm(false)), true);
        Path file = dir.resolve("broken-qwen3.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        assertEquals("broken-qwen3.gguf: tensor 'blk.0.attn_q_norm.weight': is not in the file", e.getMessage());
    }

    @Test
    void yarnIsRefusedByName() throws Exception {
        ModelConfig c = families().findFirst().orElseThrow().config()
                .withRope(RopeStyle.INTERLEAVED, new RopeScaling(RopeScaling.Type.YARN, 4f, 64, 0f, 0f));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> c.ropeScaling().frequencyFactors(c.headDim(), c.ropeTheta()));
        assertTrue(e.getMessage().contains("yarn"), e.getMessage());
    }

    @Test
    void llama3RopeScalingIsStoredAsLlamaCppsFrequencyTensor() throws Exception {
        ModelShape shape = families().filter(s -> s.name().equals("llama-rope-llama3")).findFirst().orElseThrow();
        Path file = dir.resolve("llama3-rope.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 3);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertTrue(gguf.tensorInfo(TensorNames.ROPE_FREQUENCIES).isPresent());
        }
        try (Model m = ModelLoader.load(file)) {
            float[] f = m.ropeFrequencyFactors();
            assertNotNull(f, "the factors come from the file");
            assertEquals(4, f.length);
            // wavelength 2π < 64/4 keeps the frequency; 2π·10000^(6/8) = 6283 > 64/1 takes the whole factor
            assertEquals(1f, f[0]);
            assertEquals(8f, f[3]);
        }
    }

    @Test
    void qwen3ShapeHasPerHeadNormsAndHeadsWiderThanTheEmbedding() throws Exception {
        ModelShape shape = ModelShape.named("qwen3-0.6b");
        ModelConfig c = shape.config();
        assertEquals(1024, c.dim());
        assertEquals(28, c.layers());
        assertEquals(16, c.heads());
        assertEquals(8, c.kvHeads());
        assertEquals(128, c.headDim());
        assertEquals(3072, c.hiddenDim());
        assertEquals(151936, c.vocabSize());
        assertEquals(1e6f, c.ropeTheta());
        assertTrue(shape.tiedEmbeddings());

        Path file = dir.resolve("qwen3.gguf");
        SyntheticModel.write(file, shape.withLayers(1), SyntheticVocabulary.generate(512, 4), WeightTypes.parse("Q8_0"),
                9);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("qwen3", gguf.metadata().getString("general.architecture"));
            assertEquals(128, gguf.metadata().getInt("qwen3.attention.key_length"));
            assertTrue(gguf.tensorInfo("blk.0.attn_q_norm.weight").isPresent());
            assertTrue(gguf.tensorInfo("blk.0.attn_k_norm.weight").isPresent());
            assertFalse(gguf.tensorInfo("blk.0.attn_q.bias").isPresent());
        }
        assertEquals(2048, ModelInfo.read(file).config().qDim());
        try (LoadedModel m = LoadedModel.open(file, null); Parallel p = new Parallel(2)) {
            ModelConfig lc = m.model().config();
            assertEquals(RopeStyle.NEOX, lc.ropeStyle());
            assertTrue(lc.attention().qkNorm());
            assertFalse(lc.attention().qkvBias());
            AttentionWeights a = m.model().layers().get(0).attention();
            assertEquals(128, a.qNorm().length);
            assertEquals(128, a.kNorm().length);
            assertNull(a.bq());
            assertEquals(2048, a.wq().rowCount());
            assertEquals(2048, a.wo().rowLength());
            assertTrue(m.model().tiedOutput());
            int[] prompt = m.tokenizer().encode("a family is a small package", true);
            float[] logits = new DecoderForward(m.model(), p).forward(
                    ForwardBatch.single(new int[] {0, 1, 2, 3}, prompt, 0, ForwardBatch.Logits.LAST),
                    new F32KvCache(lc, 4, 16));
            assertEquals(512, logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void gemma3ShapeIsThePublishedOneAndItsFileHasLlamaCppsNames() throws Exception {
        ModelShape shape = ModelShape.named("gemma-3-1b");
        ModelConfig c = shape.config();
        assertEquals(1152, c.dim());
        assertEquals(26, c.layers());
        assertEquals(4, c.heads());
        assertEquals(1, c.kvHeads());
        assertEquals(256, c.headDim());
        assertEquals(6912, c.hiddenDim());
        assertEquals(262144, c.vocabSize());
        assertEquals(1e6f, c.ropeTheta());
        assertEquals(1e-6f, c.rmsEps());
        assertEquals(512, c.attention().slidingWindow());
        assertEquals(10000f, c.attention().localRopeTheta());
        assertEquals(1f / 16, c.attention().scoreScale(c.headDim()), "query_pre_attn_scalar 256 = head_dim");
        assertEquals((float) Math.sqrt(1152), c.embeddingScale());
        assertEquals(FeedForwardKind.GEGLU, c.feedForward());
        assertEquals(0f, c.attention().logitSoftcap());
        assertEquals(0f, c.finalLogitSoftcap());
        assertTrue(shape.tiedEmbeddings());
        // layers 5, 11, 17, 23 are global
        for (int l = 0; l < c.layers(); l++) {
            assertEquals(l % 6 != 5, c.attention().isLocal(l), "layer " + l);
        }

        Path file = dir.resolve("gemma3.gguf");
        SyntheticModel.write(file, shape.withLayers(1), SyntheticVocabulary.generate(512, 4), WeightTypes.parse("Q8_0"),
                9);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("gemma3", gguf.metadata().getString("general.architecture"));
            assertEquals(512, gguf.metadata().getInt("gemma3.attention.sliding_window"));
            for (String t : new String[] {"attn_norm", "attn_q_norm", "attn_k_norm", "post_attention_norm", "ffn_norm",
                    "post_ffw_norm"}) {
                assertTrue(gguf.tensorInfo("blk.0." + t + ".weight").isPresent(), t);
            }
            assertFalse(gguf.tensorInfo("output.weight").isPresent());
        }
        try (LoadedModel m = LoadedModel.open(file, null); Parallel p = new Parallel(2)) {
            assertEquals(c.withLayers(1).withVocabSize(512), m.model().config());
            int[] prompt = m.tokenizer().encode("local and global layers", true);
            float[] logits = new DecoderForward(m.model(), p).forward(
                    ForwardBatch.single(new int[] {0, 1, 2, 3}, prompt, 0, ForwardBatch.Logits.LAST),
                    new F32KvCache(m.model().config(), 4, 16));
            assertEquals(512, logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void gemma3LargestModelScalesScoresByItsQueryPreAttnScalar() {
        // google/gemma-3-27b: 62 layers, hidden 5376, 32 heads of 128, query_pre_attn_scalar 168 = 5376 / 32
        ModelConfig c = Architectures.named("gemma3").configure(new ModelConfig("gemma3", 5376, 21504, 62, 32, 16,
                128, 262208, 131072, 1e6f, RopeStyle.INTERLEAVED, 1e-6f));
        assertEquals((float) (1 / Math.sqrt(168)), c.attention().scoreScale(c.headDim()));
    }

    @Test
    void gemma3FileWithoutItsSlidingWindowIsRefusedNamingTheKey() throws Exception {
        ModelShape shape = new ModelShape("no-window", gemma3().withAttention(gemma3().attention().withSlidingWindow(0)),
                true);
        Path file = dir.resolve("no-window.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file));
        assertTrue(e.getMessage().contains("gemma3.attention.sliding_window"), e.getMessage());
    }

    @Test
    void phi3FileHasFusedProjectionsBoundAsRowSlices() throws Exception {
        ModelShape shape = ModelShape.named("phi-3.5-mini");
        ModelConfig c = shape.config();
        assertEquals(3072, c.dim());
        assertEquals(32, c.layers());
        assertEquals(32, c.heads());
        assertEquals(32, c.kvHeads());
        assertEquals(8192, c.hiddenDim());
        assertEquals(32064, c.vocabSize());
        assertEquals(RopeStyle.NEOX, c.ropeStyle());

        Path file = dir.resolve("phi3.gguf");
        SyntheticModel.write(file, shape.withLayers(1), SyntheticVocabulary.generate(512, 4), WeightTypes.parse("Q8_0"),
                9);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("phi3", gguf.metadata().getString("general.architecture"));
            long[] qkv = gguf.tensorInfo("blk.0.attn_qkv.weight").orElseThrow().dims();
            assertEquals(3 * 3072, qkv[1], "Q, K and V rows in one matrix");
            long[] up = gguf.tensorInfo("blk.0.ffn_up.weight").orElseThrow().dims();
            assertEquals(2 * 8192, up[1], "gate and up rows in one matrix");
            assertFalse(gguf.tensorInfo("blk.0.attn_q.weight").isPresent());
            assertFalse(gguf.tensorInfo("blk.0.ffn_gate.weight").isPresent());
        }
        try (LoadedModel m = LoadedModel.open(file, null)) {
            AttentionWeights a = m.model().layers().get(0).attention();
            assertEquals(3072, a.wq().rowCount());
            assertEquals(3072, a.wv().rowCount());
            assertEquals(8192, m.model().layers().get(0).feedForward().gate().rowCount());
            assertEquals(8192, m.model().layers().get(0).feedForward().up().rowCount());
        }
    }

    @Test
    void phi3LongropeFileIsRefusedByName() throws Exception {
        ModelShape shape = new ModelShape("phi3", config("phi3", 64, 4, 4, 16), false);
        Path file = dir.resolve("phi3-longrope.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufTensors real = new GgufTensors(gguf);
            // the file as Phi-3.5's converted GGUF has it: the longrope factors beside the layers
            TensorSource withLongrope = new TensorSource() {
                public Path path() {
                    return real.path();
                }

                public boolean has(String name) throws ModelFormatException {
                    return name.equals(TensorNames.ROPE_FACTORS_LONG) || real.has(name);
                }

                public io.tessera.core.tensor.Tensor matrix(String name, int rows, int cols)
                        throws ModelFormatException {
                    return real.matrix(name, rows, cols);
                }

                public float[] vector(String name, int length) throws ModelFormatException {
                    return real.vector(name, length);
                }

                public AutoCloseable resources() {
                    return () -> { };
                }
            };
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> Architectures.named("phi3").bind(shape.config(), withLongrope));
            assertTrue(e.getMessage().contains("rope_factors_long.weight") && e.getMessage().contains("longrope"),
                    e.getMessage());
        }
    }
}
