package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The KV connector seam: a request prefilled by one engine and decoded by another, its prompt's
 * blocks handed over by an in-memory connector, gives the tokens of one engine alone; the
 * consumer computes only the last prompt token; no block leaks when loads fail, time out or are
 * aborted, or when pins are released.
 */
class KvConnectorTest {

    private static Model model;
    private static Parallel parallel;

    @BeforeAll
    static void load() {
        model = TestModelsEngine.synthetic(7);
        parallel = new Parallel(1);
    }

    @AfterAll
    static void close() {
        parallel.close();
    }

    /** An engine core over its own executor and connector, stepped by the test. */
    private static final class Side implements AutoCloseable {
        final LocalExecutor executor = new LocalExecutor(model, parallel, KvCacheType.F16, 16, 64);
        final InMemoryKvConnector connector;
        final EngineCore core;
        final Map<String, List<Integer>> tokens = new ConcurrentHashMap<>();
        final Map<String, RequestOutput> last = new ConcurrentHashMap<>();

        Side(Map<String, InMemoryKvConnector.Saved> store, long loadTimeoutMillis) {
            connector = new InMemoryKvConnector(executor.kvBlocks(), store, loadTimeoutMillis);
            core = new EngineCore(executor, new EngineConfig(new SchedulerConfig(512, 8, 0.01), true, new int[0]),
                    null, connector);
        }

        void add(String id, int[] prompt, int maxTokens, KvTransfer transfer) {
            List<Integer> out = new ArrayList<>();
            tokens.put(id, out);
            GenerateParams p = GenerateParams.greedy(maxTokens).withIgnoreEos(true);
            core.add(new GenerateRequest(id, prompt, p, transfer), o -> {
                for (int t : o.tokenIds()) {
                    out.add(t);
                }
                if (o.isLast()) {
                    last.put(id, o);
                }
            });
        }

        /** Steps (waiting for the connector when only it has work) until {@code done}; bounded. */
        void runUntil(BooleanSupplier done) throws InterruptedException {
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!done.getAsBoolean()) {
                assertTrue(System.nanoTime() < deadline, "the engine did not get there in time");
                if (!core.step()) {
                    Thread.sleep(1);
                }
                core.blocks().checkConsistency();
            }
        }

        int[] tokens(String id) {
            return tokens.get(id).stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public void close() {
            connector.close();
            executor.close();
        }
    }

    private static int[] alone(int[] prompt, int max) throws InterruptedException {
        try (Side s = new Side(new ConcurrentHashMap<>(), 1000)) {
            s.add("alone", prompt, max, null);
            s.runUntil(() -> s.last.containsKey("alone"));
            return s.tokens("alone");
        }
    }

    @Test
    void aDecodedRequestSkipsItsLoadedPrefillAndGivesTheTokensOfOneEngine() throws Exception {
        Map<String, InMemoryKvConnector.Saved> store = new ConcurrentHashMap<>();
        // 16 × 3 + 5 tokens: the last loaded block is partly filled
        int[][] prompts = TestModelsEngine.prompts(3, 512, 53, 16, 40);
        try (Side prefill = new Side(store, 1000); Side decode = new Side(store, 5000)) {
            for (int i = 0; i < prompts.length; i++) {
                prefill.add("p" + i, prompts[i], 1, KvTransfer.produce("t" + i));
            }
            prefill.runUntil(() -> prefill.last.size() == prompts.length && prefill.core.transferStats().pinnedBlocks() == 0);
            assertEquals(0, prefill.core.blocks().usedBlocks(), "pins released after the copy");
            long computedBefore = decode.core.stats().batchedTokens();
            for (int i = 0; i < prompts.length; i++) {
                decode.add("d" + i, prompts[i], 20, KvTransfer.consume("t" + i, "in-memory", 1));
            }
            decode.runUntil(() -> decode.last.size() == prompts.length);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(alone(prompts[i], 20), decode.tokens("d" + i), "prompt " + i);
                assertEquals(FinishReason.LENGTH, decode.last.get("d" + i).finishReason());
                assertEquals(prompts[i].length, decode.last.get("d" + i).usage().promptTokens());
            }
            int loaded = 0;
            for (int[] p : prompts) {
                loaded += p.length - 1;
            }
            assertEquals(loaded, decode.core.transferStats().loadedTokens());
            // each request computed its last prompt token and 19 fed-back output tokens, nothing more
            assertEquals(prompts.length * (1 + 19), decode.core.stats().batchedTokens() - computedBefore);
            assertEquals(0, decode.core.blocks().usedBlocks());
            assertEquals(0, decode.core.transferStats().loading());
        }
    }

    @Test
    void localPrefixHitsAreKeptAndOnlyTheRestIsLoaded() throws Exception {
        Map<String, InMemoryKvConnector.Saved> store = new ConcurrentHashMap<>();
        int[] head = TestModelsEngine.prompts(5, 512, 32)[0];
        int[] tail = TestModelsEngine.prompts(6, 512, 20)[0];
        int[] prompt = BatchInvarianceTest.concat(head, tail);
        try (Side prefill = new Side(store, 1000); Side decode = new Side(store, 5000)) {
            prefill.add("p", prompt, 1, KvTransfer.produce("t"));
            prefill.runUntil(() -> prefill.last.containsKey("p") && prefill.core.transferStats().pinnedBlocks() == 0);
            // the decode side has the first 32 tokens (2 blocks) in its prefix cache
            decode.add("warm", BatchInvarianceTest.concat(head, new int[] {7}), 1, null);
            decode.runUntil(() -> decode.last.containsKey("warm"));
            decode.add("d", prompt, 12, KvTransfer.consume("t", "in-memory", 1));
            decode.runUntil(() -> decode.last.containsKey("d"));
            assertArrayEquals(alone(prompt, 12), decode.tokens("d"));
            assertEquals(prompt.length - 1 - 32, decode.core.transferStats().loadedTokens());
            assertEquals(32, decode.last.get("d").usage().cachedPromptTokens());
            assertEquals(0, decode.core.blocks().usedBlocks());
        }
    }

    @Test
    void aMissingTransferTimesOutAndThePromptIsComputedHere() throws Exception {
        int[] prompt = TestModelsEngine.prompts(8, 512, 37)[0];
        try (Side decode = new Side(new ConcurrentHashMap<>(), 50)) {
            decode.add("d", prompt, 10, KvTransfer.consume("nowhere", "in-memory", 1));
            decode.runUntil(() -> decode.last.containsKey("d"));
            assertArrayEquals(alone(prompt, 10), decode.tokens("d"));
            assertEquals(1, decode.core.transferStats().loadFailures());
            assertEquals(0, decode.core.transferStats().loadedTokens());
            assertEquals(0, decode.core.blocks().usedBlocks());
        }
    }

    @Test
    void anAbortDuringALoadFreesItsBlocksOnlyOnceTheLoadIsOver() throws Exception {
        Map<String, InMemoryKvConnector.Saved> store = new ConcurrentHashMap<>();
        int[] prompt = TestModelsEngine.prompts(9, 512, 70)[0];
        try (Side prefill = new Side(store, 1000); Side decode = new Side(store, 5000)) {
            prefill.add("p", prompt, 1, KvTransfer.produce("t"));
            prefill.runUntil(() -> prefill.last.containsKey("p") && prefill.core.transferStats().pinnedBlocks() == 0);
            CountDownLatch gate = new CountDownLatch(1);
            decode.connector.loadGate = gate;
            decode.add("d", prompt, 10, KvTransfer.consume("t", "in-memory", 1));
            decode.core.step();
            assertEquals(1, decode.core.transferStats().loading());
            int held = decode.core.blocks().usedBlocks();
            assertEquals(5, held, "blocks for the 69 loaded tokens");
            assertTrue(decode.core.abort("d"));
            assertEquals(FinishReason.ABORTED, decode.last.get("d").finishReason());
            decode.core.step();
            // the load may still write into them: they stay taken
            assertEquals(held, decode.core.blocks().usedBlocks());
            gate.countDown();
            decode.runUntil(() -> decode.core.transferStats().loading() == 0);
            assertEquals(0, decode.core.blocks().usedBlocks());
            // the engine serves on, with every block
            decode.add("again", prompt, 10, null);
            decode.runUntil(() -> decode.last.containsKey("again"));
            assertArrayEquals(alone(prompt, 10), decode.tokens("again"));
        }
    }

    @Test
    void pinsNeverHoldMoreThanHalfTheCache() throws Exception {
        // 64 blocks: three prompts of 11 blocks each pin 33 > 32; the third is not pinned
        int[][] prompts = TestModelsEngine.prompts(11, 512, 170, 170, 170);
        CountDownLatch never = new CountDownLatch(1);
        try (Side prefill = new Side(new ConcurrentHashMap<>(), 1000)) {
            prefill.connector.holdPins = never;
            for (int i = 0; i < prompts.length; i++) {
                prefill.add("p" + i, prompts[i], 1, KvTransfer.produce("t" + i));
            }
            prefill.runUntil(() -> prefill.last.size() == prompts.length);
            assertEquals(22, prefill.core.transferStats().pinnedBlocks());
            assertEquals(22, prefill.core.blocks().usedBlocks());
            never.countDown();
            prefill.runUntil(() -> prefill.core.transferStats().pinnedBlocks() == 0);
            assertEquals(0, prefill.core.blocks().usedBlocks());
        }
    }

    @Test
    void abortedOrFailedProducersPinNothingAndNoConnectorChangesNothing() throws Exception {
        int[] prompt = TestModelsEngine.prompts(10, 512, 40)[0];
        try (Side prefill = new Side(new ConcurrentHashMap<>(), 1000)) {
            prefill.add("p", prompt, 5, KvTransfer.produce("t"));
            prefill.core.step();
            prefill.core.abort("p");
            prefill.core.step();
            assertEquals(0, prefill.core.transferStats().pinnedBlocks());
            assertEquals(0, prefill.core.blocks().usedBlocks());
        }
        LocalExecutor ex = new LocalExecutor(model, parallel, KvCacheType.F16, 16, 64);
        try {
            EngineCore plain = new EngineCore(ex, EngineConfig.defaults(), null, KvConnector.NONE);
            plain.add(new GenerateRequest("c", prompt, GenerateParams.greedy(6).withIgnoreEos(true),
                    KvTransfer.consume("t", "h", 1)), o -> { });
            plain.add(new GenerateRequest("p", prompt, GenerateParams.greedy(6).withIgnoreEos(true),
                    KvTransfer.produce("t2")), o -> { });
            for (int i = 0; i < 50 && plain.hasWork(); i++) {
                plain.step();
            }
            assertEquals(0, plain.blocks().usedBlocks());
            assertEquals(0, plain.transferStats().loadedTokens());
        } finally {
            ex.close();
        }
    }
}
