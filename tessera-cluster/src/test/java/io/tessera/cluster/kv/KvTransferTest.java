package io.tessera.cluster.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.transport.Tls;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.Model;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestStream.Completion;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.executor.LocalExecutor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * KV transfer between two engines over the cluster transport on loopback (stories260K): the decode
 * engine pulls the prefill engine's blocks and gives the tokens of one engine alone; every failure
 * (unknown transfer, layouts that differ, a pull that times out, a pin nobody pulls) leaves no block
 * taken and the prompt computed locally.
 */
class KvTransferTest {

    private static final String TOKEN = "a-kv-transfer-token-of-32-chars!";
    private static Model model;
    private static Parallel parallel;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws Exception {
        model = Llama2cLoader.load(TestModels.stories260K());
        parallel = new Parallel(1);
    }

    @AfterAll
    static void close() {
        parallel.close();
    }

    /** An engine over its own executor and connector. */
    private record Instance(LocalExecutor executor, ClusterKvConnector connector, Engine engine)
            implements AutoCloseable {

        static Instance of(KvCacheType type, boolean produce, Duration timeout, LinkShaping shaping, Tls tls)
                throws InterruptedException {
            LocalExecutor ex = new LocalExecutor(model, parallel, type, 16, 64);
            KvTransferConfig cfg = new KvTransferConfig(produce, !produce, "127.0.0.1", 0, "127.0.0.1", timeout,
                    shaping, java.util.Set.of("127.0.0.1:1"));
            ClusterKvConnector c = new ClusterKvConnector(ex.kvBlocks(), 16, cfg, TOKEN, tls);
            return new Instance(ex, c, new Engine(ex, EngineConfig.defaults(), null, c));
        }

        Completion run(String id, int[] prompt, int max, KvTransfer t) throws Exception {
            GenerateParams p = GenerateParams.greedy(max).withIgnoreEos(true);
            return engine.submit(new GenerateRequest(id, prompt, p, t)).result().get(60, TimeUnit.SECONDS);
        }

        /** Waits until no block is taken (pins released, loads over); the pool must then be consistent. */
        void noBlockTaken() throws Exception {
            waitFor(() -> connector.counters().get("pinned_transfers") == 0);
            waitFor(() -> engine.kvStats().usedBlocks() == 0 && engine.transferStats().pinnedBlocks() == 0
                    && engine.transferStats().loading() == 0);
            engine.checkBlocks();
        }

        @Override
        public void close() {
            engine.close();
            connector.close();
            executor.close();
        }
    }

    private static void waitFor(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not reached in time");
            Thread.sleep(10);
        }
    }

    private static int[] prompt(long seed, int n) {
        Random r = new Random(seed);
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) {
            p[i] = 3 + r.nextInt(500);
        }
        return p;
    }

    private static int[] alone(KvCacheType type, int[] prompt, int max) throws Exception {
        try (Instance one = Instance.of(type, true, Duration.ofSeconds(5), null, null)) {
            return one.run("alone", prompt, max, null).samples().get(0).tokenIds();
        }
    }

    private static KvTransfer consume(Instance prefill, String id) {
        return KvTransfer.consume(id, "127.0.0.1", prefill.connector().address().getPort());
    }

    private void pullGivesTheTokensOfOneEngine(Tls tls) throws Exception {
        int[] prompt = prompt(1, 75); // 4 full blocks and 10 tokens
        try (Instance prefill = Instance.of(KvCacheType.F16, true, Duration.ofSeconds(10), null, tls);
                Instance decode = Instance.of(KvCacheType.F16, false, Duration.ofSeconds(10), null, tls)) {
            Completion first = prefill.run("p", prompt, 1, KvTransfer.produce("t1"));
            assertNull(first.error());
            assertEquals(1, prefill.connector().counters().get("pinned_transfers"), "pinned before the answer");
            Map<String, Object> params = prefill.connector().producerParams("t1");
            assertEquals(prefill.connector().address().getPort(), params.get("remote_port"));
            Completion done = decode.run("d", prompt, 24, consume(prefill, "t1"));
            assertNull(done.error());
            assertArrayEquals(alone(KvCacheType.F16, prompt, 24), done.samples().get(0).tokenIds());
            assertEquals(prompt.length - 1, decode.engine().transferStats().loadedTokens());
            // 2 (keys, values) × 5 layers × 32 values × 2 bytes per token, sent as 5 whole blocks per layer
            Map<String, Long> got = decode.connector().counters();
            assertEquals(74, got.get("tokens_received"));
            long payload = 5L * 5 * (8 + 16 * 2 * 32 * 2);
            assertEquals(payload + 25L * 15, got.get("bytes_received"));
            prefill.noBlockTaken();
            decode.noBlockTaken();
            // pulled once: the same id again is refused, and the prompt is computed locally
            Completion again = decode.run("d2", prompt, 24, consume(prefill, "t1"));
            assertArrayEquals(done.samples().get(0).tokenIds(), again.samples().get(0).tokenIds());
            assertEquals(1, decode.engine().transferStats().loadFailures());
            assertEquals(1, prefill.connector().counters().get("pulls_refused"));
            decode.noBlockTaken();
        }
    }

    @Test
    void aDecodeInstancePullsThePromptsKvAndGivesTheTokensOfOneEngine() throws Exception {
        pullGivesTheTokensOfOneEngine(null);
    }

    @Test
    void theTransferRunsOverTlsWhenConfigured() throws Exception {
        Path ks = dir.resolve("kv.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "tessera", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=kv",
                "-validity", "30", "-storetype", "PKCS12", "-keystore", ks.toString(), "-storepass", "secret1",
                "-keypass", "secret1").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        pullGivesTheTokensOfOneEngine(Tls.load(ks, "secret1".toCharArray()));
    }

    /**
     * The 8-bit caches move in their own precision, scales included: the decode engine gives the
     * tokens of one engine with that cache, having received each block's bytes as the cache holds
     * them (stories260K: 4 KV heads of 8 values; int8 and fp8_e4m3 12 bytes a head, fp8_e5m2 8). A
     * decode instance with another 8-bit type is refused even where the sizes agree.
     */
    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, names = {"INT8", "FP8_E4M3", "FP8_E5M2"})
    void quantizedBlocksMoveInTheCachesOwnPrecision(KvCacheType type) throws Exception {
        int[] prompt = prompt(6, 75); // 4 full blocks and 10 tokens
        KvCacheType other = type == KvCacheType.INT8 ? KvCacheType.FP8_E4M3 : KvCacheType.INT8;
        try (Instance prefill = Instance.of(type, true, Duration.ofSeconds(10), null, null);
                Instance decode = Instance.of(type, false, Duration.ofSeconds(10), null, null);
                Instance mismatched = Instance.of(other, false, Duration.ofSeconds(10), null, null)) {
            prefill.run("p", prompt, 1, KvTransfer.produce("t1"));
            Completion done = decode.run("d", prompt, 24, consume(prefill, "t1"));
            assertNull(done.error());
            assertArrayEquals(alone(type, prompt, 24), done.samples().get(0).tokenIds());
            assertEquals(prompt.length - 1, decode.engine().transferStats().loadedTokens());
            long blockLayer = 16 * 2 * 4 * type.bytesPerHead(8);
            assertEquals(blockLayer, prefill.executor().kvBlocks().blockLayerBytes());
            assertEquals(5L * 5 * (8 + blockLayer) + 25L * 15, decode.connector().counters().get("bytes_received"));
            prefill.noBlockTaken();
            decode.noBlockTaken();

            prefill.run("p2", prompt, 1, KvTransfer.produce("t2"));
            Completion local = mismatched.run("m", prompt, 12, consume(prefill, "t2"));
            assertArrayEquals(alone(other, prompt, 12), local.samples().get(0).tokenIds());
            assertEquals(1, mismatched.engine().transferStats().loadFailures());
            mismatched.noBlockTaken();
            prefill.noBlockTaken();
        }
    }

    @Test
    void differentLayoutsAreRefusedAndThePromptIsComputedLocally() throws Exception {
        int[] prompt = prompt(2, 40);
        try (Instance prefill = Instance.of(KvCacheType.F32, true, Duration.ofSeconds(10), null, null);
                Instance decode = Instance.of(KvCacheType.F16, false, Duration.ofSeconds(10), null, null)) {
            prefill.run("p", prompt, 1, KvTransfer.produce("t"));
            Completion done = decode.run("d", prompt, 12, consume(prefill, "t"));
            assertArrayEquals(alone(KvCacheType.F16, prompt, 12), done.samples().get(0).tokenIds());
            assertEquals(1, decode.engine().transferStats().loadFailures());
            decode.noBlockTaken();
            prefill.noBlockTaken(); // a transfer is pulled once: the refused pull released it
        }
    }

    @Test
    void aPinNobodyPullsIsReleasedAfterTheTimeout() throws Exception {
        try (Instance prefill = Instance.of(KvCacheType.F16, true, Duration.ofMillis(300), null, null)) {
            prefill.run("p", prompt(3, 50), 1, KvTransfer.produce("t"));
            assertEquals(1, prefill.connector().counters().get("pinned_transfers"));
            // the engine's counters are a snapshot of its last step: wait for the connector's own first
            waitFor(() -> prefill.connector().counters().get("pins_expired") == 1);
            prefill.noBlockTaken();
        }
    }

    @Test
    void aSlowTransferTimesOutAndThePromptIsComputedLocally() throws Exception {
        int[] prompt = prompt(4, 60);
        try (Instance prefill = Instance.of(KvCacheType.F16, true, Duration.ofSeconds(10),
                new LinkShaping(0, 1500), null);
                Instance decode = Instance.of(KvCacheType.F16, false, Duration.ofMillis(300), null, null)) {
            prefill.run("p", prompt, 1, KvTransfer.produce("t"));
            Completion done = decode.run("d", prompt, 12, consume(prefill, "t"));
            assertArrayEquals(alone(KvCacheType.F16, prompt, 12), done.samples().get(0).tokenIds());
            assertEquals(1, decode.connector().counters().get("loads_timed_out"));
            decode.noBlockTaken();
            prefill.noBlockTaken(); // sent after its latency into a load that was over: released all the same
        }
    }

    @Test
    void anUnreachablePrefillInstanceMeansALocalPrefill() throws Exception {
        int[] prompt = prompt(5, 30);
        try (Instance decode = Instance.of(KvCacheType.F16, false, Duration.ofSeconds(5), null, null)) {
            java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
            int port = s.getLocalPort();
            s.close();
            Completion done = decode.run("d", prompt, 10, KvTransfer.consume("t", "127.0.0.1", port));
            assertArrayEquals(alone(KvCacheType.F16, prompt, 10), done.samples().get(0).tokenIds());
            assertEquals(1, decode.engine().transferStats().loadFailures());
            decode.noBlockTaken();
        }
    }
}
