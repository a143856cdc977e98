package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.GoldenCases;
import io.tessera.core.TestModels;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.executor.StepInput;
import io.tessera.engine.executor.StepResult;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Greedy parity of TP=2, PP=2 and TP=2 × PP=2 over real worker processes (four JVMs on loopback)
 * with the single-process engine, several requests batched together with chunked prefill.
 *
 * <p>What is asserted: pipeline parallelism runs the very same arithmetic as one process, so its
 * logits are bit-identical and so are the tokens. Tensor parallelism sums per-rank partial dot
 * products of the attention-output and down projections (one all-reduce each), a different float
 * summation order than one process's single dot product, so its logits are compared within a
 * tolerance, and its greedy tokens are asserted equal on the golden prompts and the synthetic
 * models (they are: the logit differences, ~1e-6 relative, do not flip an argmax there).
 */
class ParityTest {

    private static final int BLOCKS = 64;
    private static LocalCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startWorkers() throws Exception {
        cluster = LocalCluster.start(4, "160m", 1);
    }

    @AfterAll
    static void stopWorkers() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static DistributedExecutor cluster(Path model, int tp, int pp, int microBatches) throws Exception {
        return cluster(model, tp, pp, microBatches, KvCacheType.F32);
    }

    static DistributedExecutor cluster(Path model, int tp, int pp, int microBatches, KvCacheType kvType)
            throws Exception {
        List<String> workers = cluster.addresses().subList(0, tp * pp);
        return DistributedExecutor.connect(ClusterConfig.of(model, tp, pp, workers, cluster.token(), kvType,
                BLOCKS, 16).withMicroBatches(microBatches));
    }

    private static void assertParity(Path model, int[][] prompts, int maxTokens, int tp, int pp, int micro)
            throws Exception {
        assertParity(model, prompts, maxTokens, tp, pp, micro, KvCacheType.F32);
    }

    private static void assertParity(Path model, int[][] prompts, int maxTokens, int tp, int pp, int micro,
            KvCacheType kvType) throws Exception {
        ClusterTestSupport.Run ref;
        try (Model m = ModelLoader.load(model); Parallel par = new Parallel(1);
                LocalExecutor local = new LocalExecutor(m, par, kvType, 16, BLOCKS)) {
            ref = ClusterTestSupport.greedy(local, prompts, maxTokens);
        }
        try (DistributedExecutor ex = cluster(model, tp, pp, micro, kvType)) {
            ClusterTestSupport.Run got = ClusterTestSupport.greedy(ex, prompts, maxTokens);
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(null, got.errors().get(i));
                assertArrayEquals(ref.tokens().get(i), got.tokens().get(i),
                        "tp " + tp + " pp " + pp + " request " + i + " of " + model.getFileName() + ", " + kvType
                                + " KV cache");
            }
        }
    }

    private static int[][] goldenPrompts() throws Exception {
        List<GoldenCases.Case> cases = GoldenCases.load();
        int[][] p = new int[cases.size()][];
        for (int i = 0; i < p.length; i++) {
            p[i] = cases.get(i).promptTokens();
        }
        return p;
    }

    @Test
    void storiesTensorParallel() throws Exception {
        assertParity(TestModels.stories260K(), goldenPrompts(), 48, 2, 1, 1);
    }

    @Test
    void storiesPipelineParallel() throws Exception {
        assertParity(TestModels.stories260K(), goldenPrompts(), 48, 1, 2, 2);
    }

    @Test
    void storiesHybrid() throws Exception {
        assertParity(TestModels.stories260K(), goldenPrompts(), 48, 2, 2, 2);
    }

    /**
     * The workers build their caches in the type they are given: a rank's share of an int8 or fp8
     * cache is a run of whole heads, each with its own scale, so it stores what one process stores
     * for those heads and the tokens are the same as one process's with that cache.
     */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8_E4M3", "FP8_E5M2"})
    void storiesHybridWithAQuantizedCache(KvCacheType kvType) throws Exception {
        assertParity(TestModels.stories260K(), goldenPrompts(), 48, 2, 2, 2, kvType);
    }

    @Test
    void gqaTensorParallelF32() throws Exception {
        assertParity(ClusterTestSupport.tinyGqa(dir, "F32"), ClusterTestSupport.prompts(1, 512, 5, 17, 30, 9), 24, 2, 1,
                1);
    }

    @Test
    void gqaPipelineParallelQ8() throws Exception {
        assertParity(ClusterTestSupport.tinyGqa(dir, "Q8_0"), ClusterTestSupport.prompts(2, 512, 5, 17, 30, 9), 24, 1,
                2, 2);
    }

    @Test
    void gqaHybridQ8() throws Exception {
        assertParity(ClusterTestSupport.tinyGqa(dir, "Q8_0"), ClusterTestSupport.prompts(3, 512, 12, 3, 21, 8), 24, 2,
                2, 2);
    }

    @Test
    void gqaTensorParallel4() throws Exception {
        assertParity(ClusterTestSupport.tinyGqa(dir, "Q8_0"), ClusterTestSupport.prompts(5, 512, 9, 26, 4), 16, 4, 1, 1);
    }

    /** tp 4 over 2 KV heads: every KV head is held by two ranks; Q/K/V biases are split with their rows. */
    @Test
    void replicatedKvHeadsWithBiases() throws Exception {
        assertParity(ClusterTestSupport.qwenKv2(dir), ClusterTestSupport.prompts(6, 512, 11, 3, 19), 16, 4, 1, 1);
    }

    /** Qwen 3's per-head Q/K norm: each rank keeps the one-head-wide norm weights whole; YaRN rotation. */
    @Test
    void qwen3HybridWithQkNorm() throws Exception {
        assertParity(ClusterTestSupport.qwen3(dir), ClusterTestSupport.prompts(7, 512, 13, 4, 22), 16, 2, 2, 2);
    }

    /**
     * Gemma 3's post-block norms act on the all-reduced block output, and its local/global layer
     * pattern counts layers over the whole model, not within a pipeline stage.
     */
    @Test
    void gemma3HybridWithPostNormsAndLocalLayers() throws Exception {
        assertParity(ClusterTestSupport.gemma3(dir), ClusterTestSupport.prompts(8, 512, 14, 5, 23), 16, 2, 2, 2);
    }

    /**
     * Phi-3's fused Q/K/V and gate/up matrices are row slices, which a rank slices again; each rank
     * binds the longrope lists and rotates the partial width.
     */
    @Test
    void phi3HybridWithFusedProjections() throws Exception {
        assertParity(ClusterTestSupport.phi3(dir), ClusterTestSupport.prompts(9, 512, 12, 6, 20), 16, 2, 2, 2);
    }

    /** A mixture of experts over pipeline stages: each stage holds its layers' experts whole. */
    @Test
    void qwen2MoePipelineParallel() throws Exception {
        assertParity(ClusterTestSupport.qwen2moe(dir), ClusterTestSupport.prompts(10, 512, 12, 5, 21), 16, 1, 2, 2);
    }

    /**
     * A mixture of experts under tensor parallelism: each rank holds a slice of every expert's width
     * (36 and 18 of 72) and the whole router, so all ranks route a token alike and the all-reduce
     * adds up the experts' outputs.
     */
    @Test
    void qwen2MoeLogitsOfOneStep() throws Exception {
        assertLogitsOfOneStep(ClusterTestSupport.qwen2moe(dir));
    }

    /** Logits of one mixed step: bit-identical under PP, within 1e-5 of the largest logit under TP. */
    @Test
    void logitsOfOneStep() throws Exception {
        assertLogitsOfOneStep(ClusterTestSupport.tinyGqa(dir, "Q8_0"));
    }

    private static void assertLogitsOfOneStep(Path model) throws Exception {
        int[][] prompts = ClusterTestSupport.prompts(4, 512, 7, 20, 1);
        ForwardBatch.Builder b = ForwardBatch.builder();
        b.add(new int[] {0}, prompts[0], 0, ForwardBatch.Logits.ALL);
        b.add(new int[] {1, 2}, prompts[1], 0, ForwardBatch.Logits.LAST);
        b.add(new int[] {3}, prompts[2], 0, ForwardBatch.Logits.NONE);
        StepInput step = new StepInput(b.build(), new int[0], new int[0]);
        StepResult ref;
        try (Model m = ModelLoader.load(model); Parallel par = new Parallel(1);
                LocalExecutor local = new LocalExecutor(m, par, KvCacheType.F32, 16, BLOCKS)) {
            ref = local.execute(step);
        }
        try (DistributedExecutor pp = cluster(model, 1, 2, 2)) {
            assertArrayEquals(ref.logits(), pp.execute(step).logits());
        }
        for (int[] layout : new int[][] {{2, 1}, {4, 1}, {2, 2}}) {
            try (DistributedExecutor tp = cluster(model, layout[0], layout[1], 1)) {
                float[] got = tp.execute(step).logits();
                float max = 0;
                float diff = 0;
                for (int i = 0; i < got.length; i++) {
                    max = Math.max(max, Math.abs(ref.logits()[i]));
                    diff = Math.max(diff, Math.abs(ref.logits()[i] - got[i]));
                }
                assertTrue(diff <= 1e-5f * max, "tp " + layout[0] + " max logit difference " + diff + " of " + max);
            }
        }
    }
}
