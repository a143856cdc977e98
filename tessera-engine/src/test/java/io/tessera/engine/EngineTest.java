package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.sampling.LogProbs;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The asynchronous engine: streams, cancellation, stop conditions, rejection, many threads. */
class EngineTest {

    static Parallel parallel;
    static Model synthetic;

    @BeforeAll
    static void load() {
        parallel = new Parallel(2);
        synthetic = TestModelsEngine.synthetic(42);
    }

    @AfterAll
    static void close() {
        synthetic.close();
        parallel.close();
    }

    /** One letter per token: text and tokens line up, so stop strings span token boundaries. */
    static final Detokenizer LETTERS = last -> new Detokenizer.Stream() {
        @Override
        public String push(int token) {
            return String.valueOf((char) ('a' + token % 26));
        }

        @Override
        public String flush() {
            return "";
        }
    };

    static String letters(int[] tokens) {
        StringBuilder b = new StringBuilder();
        for (int t : tokens) {
            b.append((char) ('a' + t % 26));
        }
        return b.toString();
    }

    @Test
    @Timeout(60)
    void streamsDeltasAndStopsOnStopStringsTokensAndEos() throws Exception {
        int[] prompt = TestModelsEngine.prompts(11, 512, 12)[0];
        int[] ref = TestModelsEngine.greedyAlone(synthetic, parallel, prompt, 40);
        String refText = letters(ref);
        try (LocalExecutor ex = new LocalExecutor(synthetic, parallel, KvCacheType.F16, 16, 64);
                Engine engine = new Engine(ex, EngineConfig.defaults(ref[25]), LETTERS)) {
            // a stop string of three tokens starting at the 6th token
            String stop = refText.substring(5, 8);
            RequestStream s = engine.submit(new GenerateRequest("stop", prompt,
                    GenerateParams.greedy(40).withStop(List.of(stop, "zzzzzzzz"))));
            StringBuilder text = new StringBuilder();
            int deltas = 0;
            RequestOutput last = null;
            for (RequestOutput o : s) {
                text.append(o.text());
                deltas++;
                last = o;
            }
            assertEquals(refText.substring(0, refText.indexOf(stop)), text.toString());
            assertEquals(FinishReason.STOP_STRING, last.finishReason());
            assertTrue(deltas >= 6);
            assertNull(s.take());

            // a stop token: not included in the output
            RequestStream t = engine.submit(new GenerateRequest("tok", prompt,
                    GenerateParams.greedy(40).withStopTokenIds(ref[10]).withIgnoreEos(true)));
            RequestStream.Completion c = t.result().get(30, TimeUnit.SECONDS);
            int firstStop = indexOf(ref, ref[10]);
            assertArrayEquals(java.util.Arrays.copyOf(ref, firstStop), c.samples().get(0).tokenIds());
            assertEquals(FinishReason.STOP_TOKEN, c.samples().get(0).finishReason());
            assertEquals(firstStop + 1, c.usage().completionTokens());

            // EOS (the engine's end token is ref[25]) unless ignored
            RequestStream.Completion e = engine.submit(new GenerateRequest(null, prompt, GenerateParams.greedy(40)))
                    .result().get(30, TimeUnit.SECONDS);
            assertEquals(FinishReason.EOS, e.samples().get(0).finishReason());
            assertEquals(indexOf(ref, ref[25]), e.samples().get(0).tokenIds().length);

            // length, with logprobs
            RequestStream.Completion l = engine.submit(new GenerateRequest(null, prompt,
                    GenerateParams.greedy(30).withIgnoreEos(true).withLogprobs(3))).result().get(30, TimeUnit.SECONDS);
            assertEquals(FinishReason.LENGTH, l.samples().get(0).finishReason());
            assertEquals(30, l.samples().get(0).logprobs().size());
            for (int i = 0; i < 30; i++) {
                LogProbs lp = l.samples().get(0).logprobs().get(i);
                assertEquals(ref[i], lp.token());
                assertEquals(ref[i], lp.topIds()[0], "greedy picks the most likely token");
                assertEquals(lp.logprob(), lp.topLogprobs()[0]);
                assertTrue(lp.logprob() <= 0);
            }
            assertEquals(new Usage(12, 30, 0), l.usage());
            engine.checkBlocks();
        }
    }

    @Test
    void stopMatcherHoldsBackPossibleStartsAndNeverLeaksTheStop() {
        StopMatcher m = new StopMatcher(List.of("END", "xy"));
        assertEquals("ab", m.push("abE"));
        assertEquals("", m.push("N"));
        assertEquals("ENx", m.push("xx"));
        assertNull(m.matched());
        assertEquals("x", m.push("E"));
        assertEquals("", m.push("N"));
        assertEquals("ENx", m.push("xEND tail"));
        assertEquals("END", m.matched());
        assertEquals("", m.push("more"));
        StopMatcher n = new StopMatcher(List.of("END"));
        assertEquals("a", n.push("aEN"));
        assertEquals("EN", n.flush());
    }

    @Test
    @Timeout(60)
    void realTokenizerTextMatchesDecodeOfTheTokens() throws Exception {
        try (LoadedModel lm = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
                LocalExecutor ex = new LocalExecutor(lm.model(), parallel, KvCacheType.F32, 16, 64);
                Engine engine = new Engine(ex, EngineConfig.defaults(lm.tokenizer().eos()),
                        Detokenizer.of(lm.tokenizer()))) {
            int[] prompt = lm.tokenizer().encode("Once upon a time, there was a little", true);
            RequestStream.Completion c = engine.submit(new GenerateRequest(null, prompt,
                    GenerateParams.greedy(60).withN(2))).result().get(30, TimeUnit.SECONDS);
            for (RequestStream.Sample s : c.samples()) {
                String decoded = lm.tokenizer().decode(concat(prompt, s.tokenIds()), prompt.length,
                        prompt.length + s.tokenIds().length);
                assertEquals(decoded, s.text());
                assertTrue(s.text().length() > 20, s.text());
            }
            String text = c.samples().get(0).text();
            String stop = text.substring(10, 16);
            RequestStream.Completion d = engine.submit(new GenerateRequest(null, prompt,
                    GenerateParams.greedy(60).withStop(List.of(stop)))).result().get(30, TimeUnit.SECONDS);
            assertEquals(text.substring(0, text.indexOf(stop)), d.samples().get(0).text());
        }
    }

    @Test
    void rejectsRequestsThatCanNeverFit() {
        try (LocalExecutor ex = new LocalExecutor(synthetic, parallel, KvCacheType.F32, 16, 8);
                Engine engine = new Engine(ex, EngineConfig.defaults(), null)) {
            int[] p100 = TestModelsEngine.prompts(1, 512, 100)[0];
            RequestRejectedException cache = assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest(null, p100, GenerateParams.greedy(100))));
            assertTrue(cache.getMessage().contains("the whole cache has 8"), cache.getMessage());
            int[] p600 = TestModelsEngine.prompts(1, 512, 600)[0];
            RequestRejectedException ctx = assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest(null, p600, GenerateParams.greedy(1))));
            assertTrue(ctx.getMessage().contains("context length is 512"), ctx.getMessage());
            RequestRejectedException len = assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest(null, p100, GenerateParams.greedy(450))));
            assertTrue(len.getMessage().contains("exceeds the context length 512"), len.getMessage());
            assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest(null, new int[] {5, 900}, GenerateParams.greedy(1))));
            assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest(null, p100, GenerateParams.greedy(1).withStop(List.of("x")))));
            // exactly the whole cache (prompt + max - 1 = 128 tokens) is fine
            assertNotNull(engine.submit(new GenerateRequest("fits", p100, GenerateParams.greedy(29))));
            assertThrows(RequestRejectedException.class,
                    () -> engine.submit(new GenerateRequest("fits", p100, GenerateParams.greedy(2))));
        }
    }

    /**
     * Samples of n > 1 are forked only into places reserved for them at admission: the running
     * sequences never pass max-seqs, and a request whose n alone passes it is refused.
     */
    @Test
    @Timeout(60)
    void samplesOfOneRequestNeverForkPastMaxSeqs() {
        int maxSeqs = 4;
        int[][] prompts = TestModelsEngine.prompts(3, 512, 20, 21, 22);
        try (Harness h = Harness.of(synthetic, parallel, 64, 512, maxSeqs)) {
            RequestRejectedException tooWide = assertThrows(RequestRejectedException.class,
                    () -> h.add(new GenerateRequest("wide", prompts[0], GenerateParams.greedy(4).withN(maxSeqs + 1))));
            assertTrue(tooWide.getMessage().contains("the running limit is 4 sequences"), tooWide.getMessage());
            GenerateParams sampled = new GenerateParams(SamplingParams.ofTemperature(0.8f, 7L), 12, 1, null, null,
                    true, -1);
            h.add(new GenerateRequest("a", prompts[0], sampled.withN(3)));
            h.add(new GenerateRequest("c", prompts[2], sampled));
            h.add(new GenerateRequest("b", prompts[1], sampled.withN(2)));
            int[] peak = {0};
            h.runToEnd(step -> {
                int running = h.core.scheduler().runningCount();
                assertTrue(running <= maxSeqs, "step " + step + ": " + running + " sequences running");
                peak[0] = Math.max(peak[0], running);
            });
            assertEquals(maxSeqs, peak[0], "the limit is used, not just respected");
            for (String id : List.of("a", "b", "c")) {
                for (List<Integer> sample : h.tokens.get(id)) {
                    assertEquals(12, sample.size(), id);
                }
            }
            assertEquals(0, h.core.blocks().usedBlocks());
        }
    }

    /**
     * Hundreds of requests from many threads, a third of them cancelled at random moments, in a
     * cache small enough to preempt: no deadlock, every request ends, every block comes back, and
     * the requests that finished have their greedy tokens.
     */
    @Test
    @Timeout(180)
    void manyThreadsManyRequestsRandomAbortsAllBlocksReturn() throws Exception {
        int requests = 300;
        int[][] prompts = TestModelsEngine.prompts(21, 512, new int[requests]);
        Random rnd = new Random(5);
        int[] shared = TestModelsEngine.prompts(22, 512, 40)[0];
        for (int i = 0; i < requests; i++) {
            int len = 1 + rnd.nextInt(40);
            prompts[i] = i % 3 == 0 ? BatchInvarianceTest.concat(shared, TestModelsEngine.prompts(i, 512, len)[0])
                    : TestModelsEngine.prompts(i, 512, len)[0];
        }
        int[] max = new int[requests];
        for (int i = 0; i < requests; i++) {
            max[i] = 1 + rnd.nextInt(24);
        }
        java.util.Map<Integer, int[]> reference = new ConcurrentHashMap<>();
        for (int i = 0; i < requests; i += 25) {
            if (i % 7 == 3 || i % 11 == 5) {
                continue; // sampled or parallel samples: no greedy reference
            }
            reference.put(i, TestModelsEngine.greedyAlone(synthetic, parallel, prompts[i], max[i]));
        }
        AtomicInteger finished = new AtomicInteger();
        AtomicInteger aborted = new AtomicInteger();
        List<Throwable> errors = new ArrayList<>();
        try (LocalExecutor ex = new LocalExecutor(synthetic, parallel, KvCacheType.F16, 16, 40);
                Engine engine = new Engine(ex, EngineConfig.defaults()
                        .withScheduler(new SchedulerConfig(64, 32, 0.01)), null);
                ExecutorService clients = Executors.newFixedThreadPool(16)) {
            CountDownLatch done = new CountDownLatch(requests);
            for (int t = 0; t < 16; t++) {
                int thread = t;
                clients.submit(() -> {
                    Random r = new Random(thread);
                    for (int i = thread; i < requests; i += 16) {
                        try {
                            boolean sample = i % 7 == 3;
                            GenerateParams p = GenerateParams.greedy(max[i]).withN(i % 11 == 5 ? 2 : 1);
                            if (sample) {
                                p = p.withSampling(SamplingParams.ofTemperature(0.8f, (long) i));
                            }
                            RequestStream s = engine.submit(new GenerateRequest("c" + i, prompts[i], p));
                            boolean cancel = !reference.containsKey(i) && r.nextInt(3) == 0;
                            int cancelAfter = r.nextInt(4);
                            int seen = 0;
                            for (RequestOutput o : s) {
                                if (cancel && seen++ == cancelAfter) {
                                    s.cancel();
                                }
                            }
                            RequestStream.Completion c = s.result().get(60, TimeUnit.SECONDS);
                            FinishReason fr = c.samples().get(0).finishReason();
                            if (fr == FinishReason.ABORTED) {
                                aborted.incrementAndGet();
                            } else {
                                assertEquals(FinishReason.LENGTH, fr);
                                finished.incrementAndGet();
                                if (reference.containsKey(i)) {
                                    assertArrayEquals(reference.get(i), c.samples().get(0).tokenIds(), "request " + i);
                                }
                            }
                        } catch (Throwable e) {
                            synchronized (errors) {
                                errors.add(e);
                            }
                        } finally {
                            done.countDown();
                        }
                    }
                });
            }
            assertTrue(done.await(170, TimeUnit.SECONDS), "requests still pending");
            if (!errors.isEmpty()) {
                throw new AssertionError(errors.size() + " client errors, first: " + errors.get(0), errors.get(0));
            }
            assertEquals(requests, finished.get() + aborted.get());
            assertTrue(aborted.get() > 0 && finished.get() > 0);
            engine.checkBlocks();
            assertEquals(0, engine.liveRequests());
            EngineStats st = engine.stats();
            assertEquals(0, st.kv().usedBlocks());
            assertTrue(st.kv().prefixHitTokens() > 0);
        }
    }

    static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    static int[] concat(int[] a, int[] b) {
        return BatchInvarianceTest.concat(a, b);
    }

}
