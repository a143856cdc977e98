package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.tessera.core.GoldenCases;
import io.tessera.core.TestModels;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.Model;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole models on the native kernels: the golden stories260K results, and the same logits, bit for
 * bit, as on the Java kernels for a batch mixing prefill and decode, in each weight type the native
 * library covers (the tiny-gqa shape's 256-wide rows are repacked into lane order for Q8_0, Q4_0, Q4_K
 * and Q6_K; Q4_K_M mixes Q4_K and Q6_K matrices in one model, as llama.cpp's files do).
 */
class NativeKernelsForwardTest {

    static Parallel parallel;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        assertNotNull(Kernels.best(), () -> "native kernels unavailable: " + Kernels.unavailableReason());
        parallel = new Parallel(2);
    }

    @AfterAll
    static void stop() {
        parallel.close();
    }

    @AfterEach
    void restore() {
        Kernels.use(Kernels.Mode.AUTO);
    }

    @Test
    void goldenStories260KResultsOnTheNativeKernels() throws Exception {
        Kernels.use(Kernels.Mode.NATIVE);
        try (Model model = Llama2cLoader.load(TestModels.stories260K())) {
            GoldenRunner.assertMatchesGolden(model, parallel, GoldenCases.load());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q4_K_M", "F16", "BF16", "F32"})
    void sameLogitsAsTheJavaKernels(String type) throws Exception {
        Path file = dir.resolve("tiny-" + type + ".gguf");
        SyntheticModel.write(file, ModelShape.named("tiny-gqa").withLayers(2), SyntheticVocabulary.generate(512, 4),
                WeightTypes.parse(type), 11);
        try (LoadedModel m = LoadedModel.open(file, null)) {
            float[] java = logits(m.model(), Kernels.Mode.JAVA);
            float[] nat = logits(m.model(), Kernels.Mode.NATIVE);
            assertEquals(4 * 512, java.length);
            assertArrayEquals(java, nat, type);
        }
    }

    /**
     * Attention over the paged cache, natively for F32, F16 and BF16 rows: the Java path's logits.
     * (Types without a native reader stay on Java: NativeAttentionTest.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16"})
    void pagedCacheGivesTheJavaLogits(String cacheType) throws Exception {
        Path file = dir.resolve("tiny-paged.gguf");
        if (!java.nio.file.Files.exists(file)) {
            SyntheticModel.write(file, ModelShape.named("tiny-gqa").withLayers(2), SyntheticVocabulary.generate(512, 4),
                    WeightTypes.parse("F32"), 13);
        }
        KvCacheType type = KvCacheType.valueOf(cacheType);
        try (LoadedModel m = LoadedModel.open(file, null);
                PagedKvCache javaCache = new PagedKvCache(m.model().config(), type, 8, 16);
                PagedKvCache nativeCache = new PagedKvCache(m.model().config(), type, 8, 16)) {
            float[] java = logits(m.model(), Kernels.Mode.JAVA, javaCache);
            float[] nat = logits(m.model(), Kernels.Mode.NATIVE, nativeCache);
            assertArrayEquals(java, nat, cacheType);
        }
    }

    /** Logits of a batch of a 9-token prompt chunk, a 3-token one and a decode after a 2-token prefill. */
    private static float[] logits(Model model, Kernels.Mode mode) {
        return logits(model, mode, new F32KvCache(model.config(), 8, 16));
    }

    private static float[] logits(Model model, Kernels.Mode mode, KvCache cache) {
        Kernels.use(mode);
        DecoderForward f = new DecoderForward(model, parallel);
        f.forward(ForwardBatch.single(new int[] {2}, new int[] {1, 50}, 0, ForwardBatch.Logits.NONE), cache);
        return f.forward(ForwardBatch.builder()
                .add(new int[] {0}, new int[] {1, 9, 80, 7, 300, 41, 2, 17, 99}, 0, ForwardBatch.Logits.LAST)
                .add(new int[] {1}, new int[] {1, 400, 3}, 0, ForwardBatch.Logits.ALL)
                .add(new int[] {2}, new int[] {77}, 2, ForwardBatch.Logits.NONE)
                .build(), cache);
    }
}
