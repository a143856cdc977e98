package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every request's greedy tokens are those of the same request run alone, whatever else shares its
 * steps: chunked prefill mixed with decodes, prefix-cache hits, preemption, aborts, parallel samples.
 */
class BatchInvarianceTest {

    static Parallel parallel;
    static Model stories;
    static Model synthetic;

    @BeforeAll
    static void load() throws Exception {
        parallel = new Parallel(2);
        stories = TestModelsEngine.stories();
        synthetic = TestModelsEngine.synthetic(42);
    }

    @AfterAll
    static void close() {
        stories.close();
        synthetic.close();
        parallel.close();
    }

    static Stream<String> models() {
        return Stream.of("stories260K", "synthetic");
    }

    static Model model(String name) {
        return name.equals("stories260K") ? stories : synthetic;
    }

    private static final Map<String, int[]> REFERENCE = new HashMap<>();

    static int[] alone(Model m, int[] prompt, int max) {
        String key = m.source() + Arrays.toString(prompt) + max;
        synchronized (REFERENCE) {
            return REFERENCE.computeIfAbsent(key, k -> TestModelsEngine.greedyAlone(m, parallel, prompt, max));
        }
    }

    static GenerateRequest greedy(String id, int[] prompt, int max) {
        return new GenerateRequest(id, prompt, GenerateParams.greedy(max));
    }

    @ParameterizedTest
    @MethodSource("models")
    void chunkedPrefillAndMixedStepsMatchEachRequestAlone(String name) {
        Model m = model(name);
        int[][] prompts = TestModelsEngine.prompts(1, m.config().vocabSize(), 5, 17, 40, 3, 33, 64, 9, 21);
        int[] max = {30, 12, 25, 40, 8, 20, 33, 16};
        try (Harness h = Harness.of(m, parallel, 256, 24, 16)) {
            h.runToEnd(step -> {
                // half the requests arrive at the start, the others while the first ones decode
                int from = step == 0 ? 0 : step == 6 ? 4 : -1;
                for (int i = from; from >= 0 && i < from + 4; i++) {
                    h.add(greedy("r" + i, prompts[i], max[i]));
                }
            });
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(alone(m, prompts[i], max[i]), h.tokens("r" + i, 0), name + " request " + i);
                assertEquals(FinishReason.LENGTH, h.last.get("r" + i).finishReason());
            }
            assertEquals(0, h.core.blocks().usedBlocks());
            assertTrue(h.steps > 40);
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void prefixCacheHitsGiveTheSameTokens(String name) {
        Model m = model(name);
        int[] prefix = TestModelsEngine.prompts(2, m.config().vocabSize(), 50)[0];
        int[][] suffixes = TestModelsEngine.prompts(3, m.config().vocabSize(), 1, 7, 16, 30, 2);
        int[][] prompts = new int[suffixes.length + 1][];
        prompts[0] = prefix;
        for (int i = 0; i < suffixes.length; i++) {
            prompts[i + 1] = concat(prefix, suffixes[i]);
        }
        try (Harness h = Harness.of(m, parallel, 128, 32, 16)) {
            h.runToEnd(step -> {
                if (step == 0) {
                    h.add(greedy("p0", prompts[0], 20));
                    h.add(greedy("p1", prompts[1], 20));
                } else if (step == 4) {
                    h.add(greedy("p2", prompts[2], 20));
                    h.add(greedy("p3", prompts[3], 20));
                }
            });
            // the first requests are done: their blocks are free but still cached
            assertEquals(0, h.core.blocks().usedBlocks());
            assertTrue(h.core.kvStats().cachedBlocks() >= 3);
            h.runToEnd(step -> {
                if (!h.tokens.containsKey("p4")) {
                    h.add(greedy("p4", prompts[4], 20));
                    h.add(greedy("p5", prompts[5], 20));
                    h.add(greedy("p0again", prompts[0], 20));
                }
            });
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(alone(m, prompts[i], 20), h.tokens("p" + i, 0), name + " request " + i);
            }
            assertArrayEquals(alone(m, prompts[0], 20), h.tokens("p0again", 0));
            assertEquals(48, h.last.get("p0again").usage().cachedPromptTokens());
            assertEquals(48, h.last.get("p5").usage().cachedPromptTokens());
            assertTrue(h.core.kvStats().prefixHitTokens() >= 5 * 48, "hits " + h.core.kvStats());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void preemptionInATinyCacheGivesTheSameTokens(String name) {
        Model m = model(name);
        int[][] prompts = TestModelsEngine.prompts(4, m.config().vocabSize(), 20, 35, 8, 47, 13, 26);
        int[] max = {40, 30, 50, 20, 45, 36};
        // 10 blocks = 160 slots; each request needs up to 67 tokens, all together about 380.
        for (boolean caching : new boolean[] {false, true}) {
            try (Harness h = new Harness(m, parallel, KvCacheType.F32, 10, 32, 8, caching, null)) {
                h.runToEnd(step -> {
                    if (step == 0) {
                        for (int i = 0; i < prompts.length; i++) {
                            h.add(greedy("q" + i, prompts[i], max[i]));
                        }
                    }
                });
                for (int i = 0; i < prompts.length; i++) {
                    assertArrayEquals(alone(m, prompts[i], max[i]), h.tokens("q" + i, 0),
                            name + " request " + i + " caching " + caching);
                }
                assertTrue(h.core.scheduler().preemptions() > 0, "no preemption happened");
                assertEquals(0, h.core.blocks().usedBlocks());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void abortsOfOtherRequestsDoNotChangeTokens(String name) {
        Model m = model(name);
        int[][] prompts = TestModelsEngine.prompts(5, m.config().vocabSize(), 12, 30, 7, 44, 19, 25, 3, 38);
        try (Harness h = Harness.of(m, parallel, 64, 40, 16)) {
            h.runToEnd(step -> {
                if (step == 0) {
                    for (int i = 0; i < prompts.length; i++) {
                        h.add(greedy("a" + i, prompts[i], 30));
                    }
                }
                if (step == 1) {
                    h.core.abort("a3"); // mid-prefill
                }
                if (step == 5) {
                    h.core.abort("a0");
                    h.core.abort("a6");
                }
                if (step == 17) {
                    h.core.abort("a5");
                }
            });
            for (int i = 0; i < prompts.length; i++) {
                RequestOutput last = h.last.get("a" + i);
                if (i == 0 || i == 3 || i == 5 || i == 6) {
                    assertEquals(FinishReason.ABORTED, last.finishReason());
                    int[] partial = h.tokens("a" + i, 0);
                    assertArrayEquals(Arrays.copyOf(alone(m, prompts[i], 30), partial.length), partial);
                } else {
                    assertArrayEquals(alone(m, prompts[i], 30), h.tokens("a" + i, 0), name + " request " + i);
                }
            }
            assertEquals(0, h.core.blocks().usedBlocks());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void parallelSamplesShareThePromptAndCopyOnWrite(String name) {
        Model m = model(name);
        int[][] prompts = TestModelsEngine.prompts(6, m.config().vocabSize(), 21, 37);
        try (Harness h = Harness.of(m, parallel, 64, 64, 16)) {
            h.runToEnd(step -> {
                if (step == 0) {
                    h.add(new GenerateRequest("n0", prompts[0], GenerateParams.greedy(18).withN(3)));
                    h.add(greedy("single", prompts[1], 18));
                }
            });
            int[] ref = alone(m, prompts[0], 18);
            for (int s = 0; s < 3; s++) {
                assertArrayEquals(ref, h.tokens("n0", s), name + " sample " + s);
            }
            assertArrayEquals(alone(m, prompts[1], 18), h.tokens("single", 0));
            assertEquals(2, h.core.scheduler().blockCopies(), "the shared partial prompt block is copied by two samples");
            assertEquals(3 * 18, h.last.get("n0").usage().completionTokens());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void seededSamplingDoesNotDependOnTheSchedule(String name) {
        Model m = model(name);
        int[][] prompts = TestModelsEngine.prompts(7, m.config().vocabSize(), 9, 30, 22, 15);
        GenerateParams p = GenerateParams.greedy(40).withSampling(SamplingParams.ofTemperature(0.9f, 1234L).withTopK(40).withTopP(0.95f)
                .withPenalties(1.1f, 0.2f, 0.1f)).withN(2);
        List<int[]> alone = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            // alone: the request's two samples and nothing else
            try (Harness h = Harness.of(m, parallel, 64, 512, 2)) {
                int k = i;
                h.runToEnd(step -> {
                    if (step == 0) {
                        h.add(new GenerateRequest("s", prompts[k], p));
                    }
                });
                alone.add(h.tokens("s", 0));
                alone.add(h.tokens("s", 1));
            }
        }
        try (Harness h = Harness.of(m, parallel, 12, 16, 8)) {
            h.runToEnd(step -> {
                if (step == 0) {
                    for (int i = 0; i < prompts.length; i++) {
                        h.add(new GenerateRequest("s" + i, prompts[i], p));
                    }
                }
            });
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(alone.get(2 * i), h.tokens("s" + i, 0), name + " request " + i + " sample 0");
                assertArrayEquals(alone.get(2 * i + 1), h.tokens("s" + i, 1), name + " request " + i + " sample 1");
            }
            assertTrue(h.core.scheduler().preemptions() > 0);
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void lowerPrecisionCachesAreBatchInvariantThroughPreemptionAndPrefixHits(String name) {
        Model m = model(name);
        int[][] first = TestModelsEngine.prompts(8, m.config().vocabSize(), 14, 29, 6, 40);
        // the last two share the fourth's first two blocks, and come when it has been computed
        int[] shared = Arrays.copyOf(first[3], 32);
        int[][] prompts = {first[0], first[1], first[2], first[3], concat(shared, first[0]), concat(shared, first[2])};
        // the 8-bit caches quantize each token's row alone (its own scales), so they cannot depend on
        // the batch either; every type whose blocks the model's heads fill
        List<KvCacheType> types = new ArrayList<>();
        for (KvCacheType type : KvCacheType.values()) {
            if (type != KvCacheType.F32 && type.fitsHeadDim(m.config().headDim())) {
                types.add(type);
            }
        }
        for (KvCacheType type : types) {
            List<int[]> alone = new ArrayList<>();
            for (int[] prompt : prompts) {
                try (Harness h = new Harness(m, parallel, type, 64, 512, 1, false, null)) {
                    h.runToEnd(step -> {
                        if (step == 0) {
                            h.add(greedy("x", prompt, 24));
                        }
                    });
                    alone.add(h.tokens("x", 0));
                }
            }
            // 9 blocks of 16 for about 330 tokens: requests are preempted and recomputed
            try (Harness h = new Harness(m, parallel, type, 9, 20, 8, true, null)) {
                h.runToEnd(step -> {
                    if (step == 0) {
                        for (int i = 0; i < 4; i++) {
                            h.add(greedy("y" + i, prompts[i], 24));
                        }
                    } else if (step == 6) {
                        h.add(greedy("y4", prompts[4], 24));
                        h.add(greedy("y5", prompts[5], 24));
                    }
                });
                for (int i = 0; i < prompts.length; i++) {
                    assertArrayEquals(alone.get(i), h.tokens("y" + i, 0), name + " " + type + " request " + i);
                }
                assertTrue(h.core.scheduler().preemptions() > 0, type + ": no preemption happened");
                assertTrue(h.core.kvStats().prefixHitTokens() >= 32, type + ": the shared prefix was not reused: "
                        + h.core.kvStats());
            }
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
