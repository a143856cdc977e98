package io.tessera.engine;

import io.tessera.engine.executor.ForwardingExecutor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Embeddings through the engine on stories260K: the pooled vectors against plain references (the
 * output head applied to the last token's vector gives the forward pass's logits; a mean is the
 * mean of every prefix's last vector), and the same vectors however the engine batches, chunks,
 * caches or preempts.
 */
class EmbeddingTest {

    static Parallel parallel;
    static Model model;

    @BeforeAll
    static void load() throws Exception {
        parallel = new Parallel(1);
        model = TestModelsEngine.stories();
    }

    @AfterAll
    static void close() {
        model.close();
        parallel.close();
    }

    private static int[] input(long seed, int length) {
        int[] p = TestModelsEngine.prompts(seed, model.config().vocabSize(), length)[0];
        p[0] = 1; // BOS
        return p;
    }

    /** Runs embedding requests on an engine core until all are done. */
    private static List<float[]> embed(EngineCore core, List<EmbeddingRequest> requests) throws Exception {
        List<CompletableFuture<Embedding>> futures = new ArrayList<>();
        for (EmbeddingRequest r : requests) {
            CompletableFuture<Embedding> f = new CompletableFuture<>();
            core.addEmbedding(r, f);
            futures.add(f);
        }
        for (int i = 0; i < 10_000 && core.hasWork(); i++) {
            core.step();
        }
        List<float[]> out = new ArrayList<>();
        for (CompletableFuture<Embedding> f : futures) {
            out.add(f.get(0, TimeUnit.SECONDS).vector());
        }
        return out;
    }

    private static float[] alone(int[] tokens, Pooling pooling) throws Exception {
        try (Harness h = Harness.of(model, parallel, 64, 512, 8)) {
            return embed(h.core, List.of(new EmbeddingRequest("e", tokens, pooling))).get(0);
        }
    }

    @Test
    void lastPoolingIsTheVectorTheOutputHeadMultiplies() throws Exception {
        int[] tokens = input(3, 40);
        float[] v = alone(tokens, Pooling.LAST);
        assertEquals(model.config().dim(), v.length);
        ModelConfig c = model.config();
        int[] table = new int[3];
        Arrays.setAll(table, i -> i);
        float[] logits = new DecoderForward(model, parallel).forward(ForwardBatch.single(table, tokens, 0,
                ForwardBatch.Logits.LAST), new F32KvCache(c, table.length, 16));
        float[] row = new float[c.dim()];
        double worst = 0;
        double largest = 0;
        for (int t = 0; t < c.vocabSize(); t++) {
            MatMul.row(model.output(), t, row, 0);
            double dot = 0;
            for (int i = 0; i < row.length; i++) {
                dot += (double) row[i] * v[i];
            }
            worst = Math.max(worst, Math.abs(dot - logits[t]));
            largest = Math.max(largest, Math.abs(logits[t]));
        }
        // float sums in another order only; a wrong norm or position moves logits by tenths of the largest
        assertTrue(worst < 1e-5 * largest, "logits from the embedding differ by " + worst + " (largest " + largest + ")");
    }

    @Test
    void meanPoolingIsTheMeanOfEveryPositionsVector() throws Exception {
        int[] tokens = input(5, 24);
        float[] mean = alone(tokens, Pooling.MEAN);
        List<EmbeddingRequest> prefixes = new ArrayList<>();
        for (int n = 1; n <= tokens.length; n++) {
            prefixes.add(new EmbeddingRequest("p" + n, Arrays.copyOf(tokens, n), Pooling.LAST));
        }
        List<float[]> lasts;
        try (Harness h = Harness.of(model, parallel, 128, 512, 32)) {
            lasts = embed(h.core, prefixes);
        }
        for (int i = 0; i < mean.length; i++) {
            double sum = 0;
            for (float[] l : lasts) {
                sum += l[i];
            }
            assertEquals(sum / tokens.length, mean[i], 1e-6, "component " + i);
        }
    }

    @Test
    void sameVectorsChunkedBatchedWithGenerationAndAfterPrefixHits() throws Exception {
        int[] tokens = input(7, 45);
        float[] last = alone(tokens, Pooling.LAST);
        float[] mean = alone(tokens, Pooling.MEAN);
        // chunks of at most 16 tokens, next to a generating request sharing the prefix
        try (Harness h = Harness.of(model, parallel, 64, 16, 8)) {
            h.add(new GenerateRequest("g", Arrays.copyOf(tokens, 40), GenerateParams.greedy(20)));
            List<float[]> first = embed(h.core, List.of(new EmbeddingRequest("a", tokens, Pooling.LAST),
                    new EmbeddingRequest("b", tokens, Pooling.MEAN)));
            assertArrayEquals(last, first.get(0));
            assertArrayEquals(mean, first.get(1));
            assertEquals(20, h.tokens.get("g").get(0).size(), "the generation ran alongside");
            long hits = h.core.kvStats().prefixHitTokens();
            // the prefix is cached now: LAST reuses it, MEAN computes every token again
            List<float[]> again = embed(h.core, List.of(new EmbeddingRequest("c", tokens, Pooling.LAST),
                    new EmbeddingRequest("d", tokens, Pooling.MEAN)));
            assertTrue(h.core.kvStats().prefixHitTokens() > hits, "the LAST request found its prefix cached");
            assertArrayEquals(last, again.get(0));
            assertArrayEquals(mean, again.get(1));
            h.core.blocks().checkConsistency();
            assertEquals(0, h.core.blocks().usedBlocks());
        }
    }

    @Test
    void sameVectorsAfterPreemption() throws Exception {
        int[] tokens = input(11, 60);
        float[] mean = alone(tokens, Pooling.MEAN);
        // 6 blocks of 16: the long generation and the embeddings cannot all hold their blocks
        try (Harness h = Harness.of(model, parallel, 6, 16, 8)) {
            h.add(new GenerateRequest("g", input(13, 8), GenerateParams.greedy(80).withIgnoreEos(true)));
            for (int i = 0; i < 40; i++) {
                h.core.step(); // the generation holds 3 blocks, and will need 6
            }
            List<EmbeddingRequest> rs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                rs.add(new EmbeddingRequest("m" + i, tokens, Pooling.MEAN));
            }
            List<float[]> got = embed(h.core, rs);
            assertTrue(h.core.stats().preemptions() > 0, "the setup preempts");
            for (float[] v : got) {
                assertArrayEquals(mean, v);
            }
        }
    }

    @Test
    void refusesWhatCannotBeEmbedded() throws Exception {
        try (Harness h = Harness.of(model, parallel, 8, 512, 8)) {
            int vocab = model.config().vocabSize();
            assertThrows(RequestRejectedException.class, () -> h.core.validate(
                    new EmbeddingRequest("x", new int[] {1, vocab}, Pooling.LAST)));
            assertThrows(RequestRejectedException.class, () -> h.core.validate(
                    new EmbeddingRequest("x", new int[] {1, -1}, Pooling.LAST)));
            assertThrows(RequestRejectedException.class, () -> h.core.validate(
                    new EmbeddingRequest("x", new int[model.config().contextLength() + 1], Pooling.LAST)));
            // 8 blocks of 16 hold 128 tokens
            RequestRejectedException e = assertThrows(RequestRejectedException.class, () -> h.core.validate(
                    new EmbeddingRequest("x", new int[200], Pooling.LAST)));
            assertTrue(e.getMessage().contains("KV blocks"), e.getMessage());
            h.core.validate(new EmbeddingRequest("x", new int[128], Pooling.LAST));
        }
        assertThrows(IllegalArgumentException.class, () -> new EmbeddingRequest("x", new int[0], Pooling.LAST));
    }

    @Test
    void anExecutorWithoutHiddenStatesRefusesEmbeddings() {
        try (LocalExecutor local = new LocalExecutor(model, parallel, io.tessera.core.forward.KvCacheType.F32, 16, 8);
             Engine engine = new Engine(new LogitsOnly(local), EngineConfig.defaults(2), null)) {
            RequestRejectedException e = assertThrows(RequestRejectedException.class,
                    () -> engine.embed(new EmbeddingRequest("x", new int[] {1, 5}, Pooling.LAST)));
            assertTrue(e.getMessage().contains("hidden states"), e.getMessage());
            assertTrue(!engine.supportsEmbeddings());
        }
    }

    @Test
    void engineServesAndAbortsEmbeddings() throws Exception {
        int[] tokens = input(17, 30);
        float[] expected = alone(tokens, Pooling.LAST);
        try (LocalExecutor local = new LocalExecutor(model, parallel, io.tessera.core.forward.KvCacheType.F32, 16, 64);
             Engine engine = new Engine(local, EngineConfig.defaults(2).withScheduler(SchedulerConfig.defaults()), null)) {
            assertTrue(engine.supportsEmbeddings());
            assertEquals(model.config().dim(), engine.hiddenSize());
            Embedding e = engine.embed(new EmbeddingRequest(null, tokens, Pooling.LAST)).get(30, TimeUnit.SECONDS);
            assertArrayEquals(expected, e.vector());
            assertEquals(30, e.tokens());
            engine.checkBlocks();
        }
    }

    @Test
    void anAbortedEmbeddingFailsAndFreesItsBlocks() throws Exception {
        try (Harness h = Harness.of(model, parallel, 64, 16, 8)) {
            CompletableFuture<Embedding> f = new CompletableFuture<>();
            h.core.addEmbedding(new EmbeddingRequest("gone", input(19, 100), Pooling.MEAN), f);
            h.core.step(); // its first chunk holds blocks now
            assertTrue(h.core.blocks().usedBlocks() > 0);
            assertTrue(h.core.abort("gone"));
            ExecutionException x = assertThrows(ExecutionException.class, () -> f.get(0, TimeUnit.SECONDS));
            assertTrue(x.getCause().getMessage().contains("aborted"), x.getCause().getMessage());
            assertEquals(0, h.core.blocks().usedBlocks());
            assertEquals(0, h.core.activeRequests());
        }
    }

    /** An executor that returns logits only, as a distributed one does. */
    private static final class LogitsOnly extends ForwardingExecutor {
        LogitsOnly(Executor inner) {
            super(inner);
        }

        @Override
        public boolean returnsHiddenStates() {
            return false;
        }

        @Override
        public String describe() {
            return "logits only";
        }
    }
}
