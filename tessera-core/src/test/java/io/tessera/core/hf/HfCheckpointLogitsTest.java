package io.tessera.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The same synthetic weights written as a GGUF file and as a Hugging Face checkpoint directory give
 * the same logits at every position of a prompt: bit for bit for Qwen 2, Qwen 3, Gemma 3 and Phi-3
 * (both files pair rotary dimensions half-split and hold the same numbers in the same type; Gemma's
 * norm weights are stored as {@code w - 1} and read back as {@code w}, exact for weights in [0.5, 2];
 * Phi-3's fused matrices hold the same rows); for Llama within float
 * rounding, since the GGUF holds llama.cpp's interleaved Q/K rows and the checkpoint Hugging Face's
 * half-split ones, so each head's q·k sums the same products in another order.
 */
class HfCheckpointLogitsTest {

    private static final int VOCAB = 320;

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        ModelConfig llama = config("llama", 64, 4, 2, 16);
        return Stream.of(
                Arguments.of(new ModelShape("llama", llama, false), "F32"),
                Arguments.of(new ModelShape("llama-tied", llama, true), "BF16"),
                Arguments.of(new ModelShape("llama-rope-llama3",
                        llama.withRope(RopeStyle.INTERLEAVED, RopeScaling.llama3(8f, 1f, 4f, 64)), false), "F16"),
                Arguments.of(new ModelShape("qwen2", config("qwen2", 64, 4, 2, 16), true), "F32"),
                Arguments.of(new ModelShape("qwen2-bf16", config("qwen2", 64, 4, 2, 16), false), "BF16"),
                Arguments.of(new ModelShape("qwen3", config("qwen3", 64, 4, 2, 32), true), "F32"),
                Arguments.of(new ModelShape("qwen3-f16", config("qwen3", 64, 4, 2, 32), true), "F16"),
                Arguments.of(new ModelShape("qwen3-yarn", yarn(config("qwen3", 64, 4, 2, 32)), true), "F32"),
                Arguments.of(new ModelShape("qwen2-yarn", yarn(config("qwen2", 64, 4, 2, 16)), false), "BF16"),
                // the checkpoint's norms hold w for x·(1 + w), the GGUF's w + 1
                Arguments.of(new ModelShape("gemma3", gemma3(), true), "F32"),
                Arguments.of(new ModelShape("gemma3-bf16-rope-linear",
                        gemma3().withRope(RopeStyle.NEOX, RopeScaling.linear(8f)), true), "BF16"),
                // fused qkv_proj and gate_up_proj
                Arguments.of(new ModelShape("phi3", config("phi3", 64, 4, 4, 16), false), "F32"),
                // Phi-4-mini's layout: partial rotary (24 of 32), longrope lists from config.json, tied
                Arguments.of(new ModelShape("phi4-longrope", phi4(), true), "F16"));
    }

    private static ModelConfig gemma3() {
        ModelConfig c = config("gemma3", 64, 4, 1, 32).withLayers(6);
        return c.withAttention(c.attention().withSlidingWindow(5));
    }

    private static ModelConfig phi4() {
        ModelConfig c = config("phi3", 64, 4, 2, 32);
        c = c.withAttention(c.attention().withRotaryDim(24));
        return c.withRope(RopeStyle.NEOX, RopeScaling.longrope(4f, 32, RopeScaling.longropeMagnitude(4f, 32)));
    }

    private static ModelConfig yarn(ModelConfig c) {
        return c.withContextLength(16384).withRope(RopeStyle.NEOX, RopeScaling.yarn(4f, 4096,
                RopeScaling.YARN_BETA_FAST, RopeScaling.YARN_BETA_SLOW, RopeScaling.yarnMagnitude(4f, 0f, 0f)));
    }

    private static ModelConfig config(String arch, int dim, int heads, int kvHeads, int headDim) {
        return Architectures.named(arch).configure(new ModelConfig(arch, dim, 96, 2, heads, kvHeads, headDim, VOCAB,
                128, 10000f, RopeStyle.INTERLEAVED, 1e-5f));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void checkpointAndGgufOfTheSameWeightsGiveTheSameLogits(ModelShape shape, String type) throws Exception {
        Path gguf = dir.resolve(shape.name() + ".gguf");
        Path hf = dir.resolve(shape.name());
        SyntheticModel.write(gguf, shape, SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse(type), 7);
        SyntheticModel.writeCheckpoint(hf, shape, SafetensorsDtype.valueOf(type), 7);
        int[] prompt = new Random(shape.name().hashCode()).ints(24, 0, VOCAB).toArray();
        try (Model fromGguf = ModelLoader.load(gguf); Model fromHf = ModelLoader.load(hf);
                Parallel p = new Parallel(2)) {
            assertEquals(ModelLoader.Format.HUGGING_FACE, ModelLoader.detect(hf));
            assertEquals(RopeStyle.NEOX, fromHf.config().ropeStyle(), "checkpoints store half-split Q/K rows");
            assertEquals(fromGguf.config().withRope(RopeStyle.NEOX, fromHf.config().ropeScaling()), fromHf.config());
            assertEquals(shape.tiedEmbeddings(), fromHf.tiedOutput());
            for (Tensor t : fromHf.matrices()) {
                assertEquals(type, t.type().name(), t.name() + " is mapped in its stored type");
            }
            float[] want = logits(fromGguf, prompt, p);
            float[] got = logits(fromHf, prompt, p);
            if (shape.config().ropeStyle() == RopeStyle.NEOX) {
                assertArrayEquals(want, got, shape.name() + ": logits must be bit-identical");
            } else {
                assertTrue(maxDifference(want, got) <= 1e-5 * Math.max(1, maxAbs(want)),
                        shape.name() + ": logits differ by " + maxDifference(want, got));
                // the control: the same checkpoint run with interleaved pairs is a different model,
                // so the agreement above is the half-split order doing its work
                Model wrongPairs = new Model(fromHf.source(),
                        fromHf.config().withRope(RopeStyle.INTERLEAVED, fromHf.config().ropeScaling()),
                        fromHf.tokenEmbedding(), fromHf.layers(), fromHf.finalNorm(), fromHf.output(),
                        fromHf.ropeFrequencyFactors(), () -> { });
                assertTrue(maxDifference(want, logits(wrongPairs, prompt, p)) > 1e-3,
                        "interleaved pairs on half-split rows must change the logits");
            }
            if (shape.config().ropeScaling().type() == RopeScaling.Type.LONGROPE) {
                assertArrayEquals(fromGguf.ropeFrequencyFactors(), fromHf.ropeFrequencyFactors(), "short_factor");
                assertArrayEquals(fromGguf.longContextRopeFactors(), fromHf.longContextRopeFactors(), "long_factor");
            }
            if (shape.config().ropeScaling().type() == RopeScaling.Type.LLAMA3) {
                assertNull(fromHf.ropeFrequencyFactors(), "config.json's rope_scaling gives the factors");
                assertArrayEquals(fromGguf.rotaryFactors(), fromHf.rotaryFactors());
            }
        }
    }

    static float[] logits(Model m, int[] prompt, Parallel p) {
        return new DecoderForward(m, p).forward(
                ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                new F32KvCache(m.config(), 2, 16));
    }

    static double maxDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
