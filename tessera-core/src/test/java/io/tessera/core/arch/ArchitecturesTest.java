package io.tessera.core.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.AttentionWeights;
import io.tessera.core.model.ExpertGating;
import io.tessera.core.model.FeedForwardKind;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.MoeOptions;
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
                        llama.withRope(RopeStyle.INTERLEAVED, RopeScaling.llama3(8f, 1f, 4f, 64)), false),
                // longrope past its original context of 32: the long factor lists and magnitude √(1 + ln 4 / ln 32)
                new ModelShape("phi3-longrope", phi3Longrope(config("phi3", 64, 4, 4, 16), 32), false),
                // Phi-4-mini's layout: 24 of 32 head dimensions rotate, grouped heads, tied, longrope
                new ModelShape("phi4-partial-rotary", phi3Longrope(config("phi3", 64, 4, 2, 32)
                        .withAttention(config("phi3", 64, 4, 2, 32).attention().withRotaryDim(24)), 32), true),
                // YaRN over an original context of 4096: pairs 0-5 keep their frequency, 12-15 are
                // divided by 4, a ramp in between (heads of 32, base 10000)
                new ModelShape("qwen3-yarn", yarn(config("qwen3", 64, 8, 4, 32)), true),
                new ModelShape("qwen2-yarn", yarn(config("qwen2", 64, 8, 2, 32)), false),
                // Mixtral: llama with 4 experts of 96, 2 per token, renormalised
                new ModelShape("mixtral", config("llama", 64, 8, 2, 8).withMoe(MoeOptions.of(4, 2, 96, true)), false),
                // Qwen 2 MoE: 6 experts of 48, 2 per token, not renormalised, a gated shared expert of 80
                new ModelShape("qwen2moe", config("qwen2moe", 64, 8, 2, 8)
                        .withMoe(MoeOptions.of(6, 2, 48, false).withSharedExpert(80, true)), true),
                // Qwen 3 MoE: 8 experts of 32, 3 per token, renormalised
                new ModelShape("qwen3moe", config("qwen3moe", 64, 8, 4, 32).withMoe(MoeOptions.of(8, 3, 32, true)),
                        false),
                // OLMoE: Q/K norm over the whole projection, 6 experts of 96, 2 per token, not renormalised
                new ModelShape("olmoe", config("olmoe", 64, 8, 4, 8).withMoe(MoeOptions.of(6, 2, 96, false)), false));
    }

    static ModelConfig phi3Longrope(ModelConfig c, int original) {
        float factor = (float) c.contextLength() / original;
        return c.withRope(RopeStyle.NEOX, RopeScaling.longrope(factor, original,
                RopeScaling.longropeMagnitude(factor, original)));
    }

    static ModelConfig yarn(ModelConfig c) {
        return c.withContextLength(16384).withRope(RopeStyle.NEOX, RopeScaling.yarn(4f, 4096,
                RopeScaling.YARN_BETA_FAST, RopeScaling.YARN_BETA_SLOW, RopeScaling.yarnMagnitude(4f, 0f, 0f)));
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
            assertMatchesTheReference(shape.name(), m, prompt, got);
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

    /** The mixture-of-experts options no family fixes, each on a Mixtral-style model, against the reference. */
    static Stream<Arguments> expertOptions() {
        return Stream.of(
                Arguments.of("sigmoid gating", (UnaryOperator<MoeOptions>) o -> o.withGating(ExpertGating.SIGMOID)),
                Arguments.of("weights scale 2.5", (UnaryOperator<MoeOptions>) o -> o.withWeightsScale(2.5f)),
                Arguments.of("not renormalised", (UnaryOperator<MoeOptions>) o -> o.withNormalizeTopK(false)),
                Arguments.of("ungated shared expert", (UnaryOperator<MoeOptions>) o -> o.withSharedExpert(40, false)),
                Arguments.of("leading dense layer", (UnaryOperator<MoeOptions>) o -> o.withLeadingDenseLayers(1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("expertOptions")
    void expertOptionSurvivesGgufAndMatchesTheReference(String name, UnaryOperator<MoeOptions> option)
            throws Exception {
        ModelConfig base = config("llama", 64, 8, 2, 8);
        ModelShape shape = new ModelShape("moe-option", base.withMoe(option.apply(MoeOptions.of(4, 2, 96, true))),
                false);
        Path file = dir.resolve("moe-option.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 9);
        int[] prompt = new Random(3).ints(24, 0, VOCAB).toArray();
        try (Model m = ModelLoader.load(file); Parallel p = new Parallel(2)) {
            assertEquals(shape.config(), m.config(), name + ": the configuration survives the round trip through GGUF");
            float[] got = new DecoderForward(m, p).forward(
                    ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                    new F32KvCache(m.config(), 2, 16));
            assertMatchesTheReference(name, m, prompt, got);
        }
    }

    /** Tessera's logits {@code got} at every position of {@code prompt} against the reference decoder's. */
    private static void assertMatchesTheReference(String name, Model m, int[] prompt, float[] got) {
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
        assertTrue(worst <= 1e-4 * Math.max(1, largest), name + ": logits differ by " + worst + " (largest " + largest
                + ")");
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
    void mixtureOfExpertsFileCountsTotalAndActiveParameters() throws Exception {
        ModelShape shape = ModelShape.named("tiny-moe");
        Path file = dir.resolve("tiny-moe.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(shape.config().vocabSize(), 1),
                WeightTypes.parse("Q8_0"), 4);
        ModelInfo info = ModelInfo.read(file);
        ModelConfig c = info.config();
        assertEquals(shape.config().moe(), c.moe());
        assertEquals(c.parameterCount(false), info.parameters(), "every tensor of the file, each expert counted");
        // 6 of the 8 experts of each of the 2 layers are not multiplied by a token: 3 matrices of 64 × 128 each
        assertEquals(info.parameters() - 2L * 6 * 3 * 64 * 128, info.activeParameters());
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
    void yarnFactorsFollowLlamaCppsRampBetweenTheCorrectionDimensions() {
        ModelConfig c = yarn(config("qwen3", 64, 8, 4, 32));
        float[] f = c.ropeScaling().frequencyFactors(32, c.ropeTheta());
        // correction dims: floor(32·ln(4096/(32·2π)) / (2·ln 10000)) = 5, ceil(32·ln(4096/2π) / (2·ln 10000)) = 12
        for (int i = 0; i <= 5; i++) {
            assertEquals(1f, f[i], "pair " + i + " keeps its frequency");
        }
        for (int i = 12; i < 16; i++) {
            assertEquals(4f, f[i], "pair " + i + " is interpolated fully");
        }
        // pair 8: ramp 1 - 3/7 of the original frequency, 3/7 of the interpolated one
        assertEquals(1 / (3.0 / 7 / 4 + 4.0 / 7), f[8], 1e-6);
        assertEquals((float) (0.1 * Math.log(4) + 1), c.ropeScaling().attentionFactor());
    }

    @Test
    void yarnFileKeysAreLlamaCppsAndRoundTrip() throws Exception {
        ModelShape shape = families().filter(s -> s.name().equals("qwen3-yarn")).findFirst().orElseThrow();
        Path file = dir.resolve("yarn.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 3);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("yarn", gguf.metadata().getString("qwen3.rope.scaling.type"));
            assertEquals(4f, gguf.metadata().getFloat("qwen3.rope.scaling.factor"));
            assertEquals(4096, gguf.metadata().getInt("qwen3.rope.scaling.original_context_length"));
            assertFalse(gguf.metadata().contains("qwen3.rope.scaling.attn_factor"),
                    "llama.cpp derives 0.1·ln(factor) + 1 itself");
        }
        assertEquals(shape.config(), ModelInfo.read(file).config());
    }

    /** What llama.cpp's YaRN and rotary keys allow that the blocks do not run is refused naming the key. */
    @Test
    void unsupportedRopeKeysAreRefusedNamingTheKey() throws Exception {
        ModelShape yarn = families().filter(s -> s.name().equals("qwen3-yarn")).findFirst().orElseThrow();
        Path file = dir.resolve("keys.gguf");
        SyntheticModel.write(file, yarn, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 3);
        ModelShape phi = families().filter(s -> s.name().equals("phi4-partial-rotary")).findFirst().orElseThrow();
        Path phiFile = dir.resolve("phi-keys.gguf");
        SyntheticModel.write(phiFile, phi, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 3);
        Object[][] cases = {
            {file, "qwen3.rope.scaling.yarn_ext_factor", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putFloat32("qwen3.rope.scaling.yarn_ext_factor", 0.5f), "extrapolation mix"},
            {file, "qwen3.rope.scaling.yarn_log_multiplier", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putFloat32("qwen3.rope.scaling.yarn_log_multiplier", 0.1f), "DeepSeek"},
            {file, "qwen3.rope.scaling.yarn_beta_fast", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putFloat32("qwen3.rope.scaling.yarn_beta_fast", 0.5f), "beta_fast > beta_slow"},
            {file, "qwen3.rope.dimension_count", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putUInt32("qwen3.rope.dimension_count", 16), "qwen3 family does not support"},
            {phiFile, "phi3.rope.dimension_count", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putUInt32("phi3.rope.dimension_count", 23), "even, positive"},
            {phiFile, "phi3.rope.scaling.attn_factor", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putFloat32("phi3.rope.scaling.attn_factor", -1f), "must be positive"},
        };
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            var edit = (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>) c[2];
            Path bad = io.tessera.core.model.GgufEdits.rewrite((Path) c[0], dir.resolve("bad-" + c[1] + ".gguf"), edit);
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(bad).close(),
                    (String) c[1]);
            assertTrue(e.getMessage().contains((String) c[1]) && e.getMessage().contains((String) c[3]),
                    e.getMessage());
        }
    }

    @Test
    void longropeChoosesItsListByTheConfiguredContext() throws Exception {
        ModelShape shape = families().filter(s -> s.name().equals("phi3-longrope")).findFirst().orElseThrow();
        Path file = dir.resolve("longrope.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 4);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(32, gguf.metadata().getInt("phi3.rope.scaling.original_context_length"));
            assertEquals((float) Math.sqrt(1 + Math.log(4) / Math.log(32)),
                    gguf.metadata().getFloat("phi3.rope.scaling.attn_factor"));
            assertTrue(gguf.tensorInfo(TensorNames.ROPE_FACTORS_LONG).isPresent());
            assertTrue(gguf.tensorInfo(TensorNames.ROPE_FACTORS_SHORT).isPresent());
        }
        int[] prompt = new Random(3).ints(20, 0, VOCAB).toArray();
        try (Model m = ModelLoader.load(file); Parallel p = new Parallel(2)) {
            assertSame(m.longContextRopeFactors(), m.rotaryFactors(), "128 positions > 32: the long list");
            // the same file configured for its original context runs the short list
            Model shortContext = m.withConfig(m.config().withContextLength(32));
            assertSame(m.ropeFrequencyFactors(), shortContext.rotaryFactors());
            double[][] want = new ReferenceDecoder(shortContext).logits(prompt);
            double[][] wantLong = new ReferenceDecoder(m).logits(prompt);
            float[] got = new DecoderForward(shortContext, p).forward(
                    ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                    new F32KvCache(shortContext.config(), 2, 16));
            double worst = 0;
            double largest = 0;
            double effect = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    largest = Math.max(largest, Math.abs(want[t][v]));
                    worst = Math.max(worst, Math.abs(want[t][v] - got[t * VOCAB + v]));
                    effect = Math.max(effect, Math.abs(want[t][v] - wantLong[t][v]));
                }
            }
            assertTrue(effect > 1e-2 * largest, "the lists differ, so must the logits (by " + effect + ")");
            assertTrue(worst <= 1e-4 * Math.max(1, largest), "logits differ by " + worst);
        }
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

    /** llama.cpp's converter writes no window when a checkpoint's sliding_window_pattern is 1. */
    @Test
    void gemma3FileWithoutASlidingWindowRunsEveryLayerGlobal() throws Exception {
        ModelShape shape = new ModelShape("no-window", gemma3().withAttention(gemma3().attention().withSlidingWindow(0)),
                true);
        Path file = dir.resolve("no-window.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        try (Model m = ModelLoader.load(file)) {
            assertEquals(0, m.config().attention().slidingWindow());
            for (int l = 0; l < m.config().layers(); l++) {
                assertFalse(m.config().attention().isLocal(l), "layer " + l);
            }
        }
    }

    /**
     * The local layers' period ({@code attention.sliding_window_pattern}, a number or one bool per
     * layer) and rotary base ({@code rope.freq_base_swa}) come from the file; the attention
     * soft-cap is not read for Gemma 3 (llama.cpp does not), the final one is.
     */
    @Test
    void gemma3FileKeysSetTheLocalLayersAsLlamaCppReadsThem() throws Exception {
        Path file = dir.resolve("gemma3-keys.gguf");
        SyntheticModel.write(file, new ModelShape("g", gemma3(), true), SyntheticVocabulary.generate(VOCAB, 1),
                WeightTypes.parse("F32"), 2);
        boolean[] period3 = {true, true, false, true, true, false, true};
        java.util.function.Consumer<io.tessera.core.gguf.GgufWriter> number =
                w -> w.putUInt32("gemma3.attention.sliding_window_pattern", 3);
        java.util.function.Consumer<io.tessera.core.gguf.GgufWriter> flags = w -> w.putArray(
                "gemma3.attention.sliding_window_pattern", io.tessera.core.gguf.GgufArray.ofBool(period3));
        for (var edit : java.util.List.of(number, flags)) {
            Path edited = io.tessera.core.model.GgufEdits.rewrite(file, dir.resolve("edited.gguf"), edit.andThen(
                    w -> w.putFloat32("gemma3.rope.freq_base_swa", 20000f)
                            .putFloat32("gemma3.attn_logit_softcapping", 50f)
                            .putFloat32("gemma3.final_logit_softcapping", 30f)));
            try (Model m = ModelLoader.load(edited)) {
                var a = m.config().attention();
                assertEquals(3, a.slidingWindowPattern());
                for (int l = 0; l < period3.length; l++) {
                    assertEquals(period3[l], a.isLocal(l), "layer " + l);
                }
                assertEquals(20000f, a.localRopeTheta());
                assertEquals(0f, a.logitSoftcap());
                assertEquals(30f, m.config().finalLogitSoftcap());
            }
        }
        try (Model m = ModelLoader.load(file)) {
            // no keys: Gemma 3's every sixth layer global, local base 10000
            assertEquals(6, m.config().attention().slidingWindowPattern());
            assertEquals(10000f, m.config().attention().localRopeTheta());
        }
        Path allLocal = io.tessera.core.model.GgufEdits.rewrite(file, dir.resolve("all-local.gguf"),
                w -> w.putUInt32("gemma3.attention.sliding_window_pattern", 0));
        try (Model m = ModelLoader.load(allLocal)) {
            for (int l = 0; l < period3.length; l++) {
                assertTrue(m.config().attention().isLocal(l), "layer " + l);
            }
        }
    }

    @Test
    void gemma3PatternKeysWithBadValuesAreRefusedNamingTheKey() throws Exception {
        Path file = dir.resolve("gemma3-bad.gguf");
        SyntheticModel.write(file, new ModelShape("g", gemma3(), true), SyntheticVocabulary.generate(VOCAB, 1),
                WeightTypes.parse("F32"), 2);
        String key = "gemma3.attention.sliding_window_pattern";
        Object[][] cases = {
            {key, (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putArray(key, io.tessera.core.gguf.GgufArray.ofBool(true, false)), "one flag per layer (7)"},
            // the first global layer (1) sets a period of 2, which layer 3 breaks
            {key + "[3]", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putArray(key, io.tessera.core.gguf.GgufArray.ofBool(true, false, true, true, true, true,
                            true)), "period 2"},
            {key, (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putStringArray(key, "a", "b", "c", "d", "e", "f", "g"), "bools or integers"},
            {key, (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putInt32(key, -2), "negative"},
            {"gemma3.rope.freq_base_swa", (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>)
                    w -> w.putFloat32("gemma3.rope.freq_base_swa", -1f), "positive finite"},
        };
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked")
            var edit = (java.util.function.Consumer<io.tessera.core.gguf.GgufWriter>) c[1];
            Path bad = io.tessera.core.model.GgufEdits.rewrite(file, dir.resolve("bad.gguf"), edit);
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(bad).close(),
                    (String) c[0]);
            assertTrue(e.getMessage().contains((String) c[0]) && e.getMessage().contains((String) c[2]),
                    e.getMessage());
        }
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
    void phi3FileWithOneLongropeListIsRefusedNamingTheOther() throws Exception {
        ModelShape shape = families().filter(s -> s.name().equals("phi3-longrope")).findFirst().orElseThrow();
        Path file = dir.resolve("phi3-longrope.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 2);
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufTensors real = new GgufTensors(gguf);
            // a file whose converter wrote the long list only
            TensorSource withoutShort = new TensorSource() {
                public Path path() {
                    return real.path();
                }

                public boolean has(String name) throws ModelFormatException {
                    return !name.equals(TensorNames.ROPE_FACTORS_SHORT) && real.has(name);
                }

                public io.tessera.core.tensor.Tensor matrix(String name, int rows, int cols)
                        throws ModelFormatException {
                    return real.matrix(name, rows, cols);
                }

                public float[] vector(String name, int length) throws ModelFormatException {
                    if (name.equals(TensorNames.ROPE_FACTORS_SHORT)) {
                        throw new ModelFormatException(real.path(), "tensor '" + name + "'", "is not in the file");
                    }
                    return real.vector(name, length);
                }

                public AutoCloseable resources() {
                    return () -> { };
                }
            };
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> Architectures.named("phi3").bind(shape.config(), withoutShort));
            assertTrue(e.getMessage().contains("rope_factors_short.weight"), e.getMessage());
        }
    }

    /**
     * llama.cpp's converter writes the original context of every Phi-3: equal to the context and
     * without factor lists (Phi-3 4k) it is plain rotation; shorter without the lists is refused.
     */
    @Test
    void phi3OriginalContextWithoutFactorListsIsPlainOnlyWhenNotStretched() throws Exception {
        ModelShape plain = families().filter(s -> s.name().equals("phi3")).findFirst().orElseThrow();
        Path file = dir.resolve("phi3-4k.gguf");
        SyntheticModel.write(file, plain, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("F32"), 3);
        Path same = io.tessera.core.model.GgufEdits.rewrite(file, dir.resolve("phi3-same.gguf"),
                w -> w.putUInt32("phi3.rope.scaling.original_context_length", 128));
        try (Model m = ModelLoader.load(same)) {
            assertEquals(RopeScaling.NONE, m.config().ropeScaling());
            assertNull(m.rotaryFactors());
        }
        Path stretched = io.tessera.core.model.GgufEdits.rewrite(file, dir.resolve("phi3-stretched.gguf"),
                w -> w.putUInt32("phi3.rope.scaling.original_context_length", 32));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(stretched).close());
        assertTrue(e.getMessage().contains("rope_factors_short.weight") && e.getMessage().contains("32-token"),
                e.getMessage());
    }

    @Test
    void phi4MiniShapeRotatesThreeQuartersOfEachHead() throws Exception {
        ModelShape shape = ModelShape.named("phi-4-mini");
        ModelConfig c = shape.config();
        assertEquals(96, c.attention().rotaryDim(c.headDim()));
        assertEquals(200064, c.vocabSize());
        assertEquals(RopeScaling.Type.LONGROPE, c.ropeScaling().type());
        assertEquals(4096, c.ropeScaling().originalContext());
        assertTrue(shape.tiedEmbeddings());
        Path file = dir.resolve("phi4.gguf");
        SyntheticModel.write(file, shape.withLayers(1), SyntheticVocabulary.generate(512, 4), WeightTypes.parse("Q8_0"),
                9);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals(96, gguf.metadata().getInt("phi3.rope.dimension_count"));
            assertEquals(48, gguf.tensorInfo(TensorNames.ROPE_FACTORS_LONG).orElseThrow().dims()[0]);
        }
        try (Model m = ModelLoader.load(file)) {
            assertEquals(c.withLayers(1).withVocabSize(512), m.config());
            assertSame(m.longContextRopeFactors(), m.rotaryFactors());
        }
    }
}
