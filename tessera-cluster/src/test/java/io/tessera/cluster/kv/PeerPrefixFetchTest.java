package io.tessera.cluster.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
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
import io.tessera.engine.kv.KvOffloadConfig;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Peer prefix fetch between two engines over the cluster transport on loopback (stories260K): a
 * replica told that a peer holds its prompt's prefix fetches the peer's cached blocks (from its pool
 * or its offload tier) and computes only the rest, with the greedy tokens of an engine that computed
 * everything; a peer without the prefix, a peer that goes away mid-fetch, a peer outside
 * {@code --kv-peers} and hostile queries all end in a local prefill or a refusal, and no block stays
 * taken on either side.
 */
class PeerPrefixFetchTest {

    private static final String TOKEN = "a-kv-transfer-token-of-32-chars!";
    private static final int BLOCK = 16;
    /** 4 whole blocks shared by the prompts below. */
    private static final int PREFIX = 64;
    private static Model model;
    private static Parallel parallel;
    private static int[] prefix;

    @BeforeAll
    static void load() throws Exception {
        model = Llama2cLoader.load(TestModels.stories260K());
        parallel = new Parallel(1);
        prefix = tokens(11, PREFIX);
        prefix[0] = 1;
    }

    @AfterAll
    static void close() {
        parallel.close();
    }

    /** An engine over its own executor and connector: it serves prefixes, and fetches from {@code peers}. */
    private record Replica(LocalExecutor executor, ClusterKvConnector connector, Engine engine)
            implements AutoCloseable {

        static Replica of(int blocks, KvOffloadConfig offload, Set<String> peers, LinkShaping shaping,
                Duration timeout) throws InterruptedException {
            LocalExecutor ex = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, blocks, offload);
            KvTransferConfig cfg = new KvTransferConfig(true, true, "127.0.0.1", 0, "127.0.0.1", timeout, shaping,
                    peers);
            ClusterKvConnector c = new ClusterKvConnector(ex.kvBlocks(), BLOCK, cfg, TOKEN, null);
            return new Replica(ex, c, new Engine(ex, EngineConfig.defaults(), null, c));
        }

        static Replica of(Set<String> peers) throws InterruptedException {
            return of(64, KvOffloadConfig.NONE, peers, null, Duration.ofSeconds(10));
        }

        String kvAddress() {
            return "127.0.0.1:" + connector.address().getPort();
        }

        KvTransfer hintTo() {
            return KvTransfer.peerPrefix("hint", "127.0.0.1", connector.address().getPort());
        }

        int[] run(String id, int[] prompt, int max, KvTransfer t) throws Exception {
            GenerateParams p = GenerateParams.greedy(max).withIgnoreEos(true);
            Completion c = engine.submit(new GenerateRequest(id, prompt, p, t)).result().get(60, TimeUnit.SECONDS);
            assertNull(c.error());
            return c.samples().get(0).tokenIds();
        }

        long counter(String name) {
            return connector.counters().get(name);
        }

        /** Waits until no block is taken (pins released, loads over), then audits the pool. */
        void noBlockTaken() throws Exception {
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

    /** The engine's counters are a snapshot of its last step, taken just after a result is delivered. */
    private static void eventually(long expected, java.util.function.LongSupplier actual) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (actual.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(expected, actual.getAsLong());
    }

    private static int[] tokens(long seed, int n) {
        Random r = new Random(seed);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + r.nextInt(500);
        }
        return p;
    }

    /** The shared prefix followed by {@code n} tokens of its own. */
    private static int[] withPrefix(long seed, int n) {
        int[] own = tokens(seed, n);
        int[] p = java.util.Arrays.copyOf(prefix, PREFIX + n);
        System.arraycopy(own, 0, p, PREFIX, n);
        return p;
    }

    /** The greedy tokens of an engine that computes the whole prompt. */
    private static int[] recomputed(int[] prompt, int max) throws Exception {
        try (Replica one = Replica.of(Set.of("127.0.0.1:1"))) {
            int[] out = one.run("alone", prompt, max, null);
            eventually(prompt.length - 1, () -> one.engine().stats().promptTokensComputed());
            return out;
        }
    }

    @Test
    void aReplicaFetchesThePrefixFromItsPeerAndGivesTheTokensOfARecompute() throws Exception {
        int[] first = withPrefix(1, 20);
        int[] second = withPrefix(2, 20); // 84 tokens: its 5th block differs from the holder's
        try (Replica holder = Replica.of(Set.of("127.0.0.1:1"));
                Replica fetcher = Replica.of(Set.of(holder.kvAddress()))) {
            holder.run("h", first, 8, null);
            int[] got = fetcher.run("f", second, 16, holder.hintTo());
            assertArrayEquals(recomputed(second, 16), got);
            // the holder had the 4 prefix blocks of the 5 asked for; only the rest was computed here
            eventually(PREFIX, () -> fetcher.engine().transferStats().loadedTokens());
            assertEquals(PREFIX, fetcher.counter("prefix_tokens_fetched"));
            eventually(second.length - PREFIX - 1, () -> fetcher.engine().stats().promptTokensComputed());
            assertEquals(4, holder.counter("prefix_blocks_sent"));
            assertEquals(1, holder.counter("prefix_queries_served"));
            holder.noBlockTaken();
            fetcher.noBlockTaken();
            // the fetched blocks are now in the fetcher's own prefix cache: only the block after them is
            // asked for (the holder lacks it), the prefix is not fetched again
            int[] third = withPrefix(3, 20);
            assertArrayEquals(recomputed(third, 8), fetcher.run("f2", third, 8, holder.hintTo()));
            assertEquals(PREFIX, fetcher.counter("prefix_tokens_fetched"));
            assertEquals(4, holder.counter("prefix_blocks_sent"));
            fetcher.noBlockTaken();
        }
    }

    @Test
    void aPrefixInThePeersOffloadTierIsRestoredThereAndFetched() throws Exception {
        long blockBytes;
        try (LocalExecutor probe = new LocalExecutor(model, parallel, KvCacheType.F16, BLOCK, 1)) {
            blockBytes = probe.blockBytes();
        }
        int[] first = withPrefix(4, 20);
        int[] second = withPrefix(5, 30);
        try (Replica holder = Replica.of(16, new KvOffloadConfig(64 * blockBytes, null, 0), Set.of("127.0.0.1:1"),
                null, Duration.ofSeconds(10));
                Replica fetcher = Replica.of(Set.of(holder.kvAddress()))) {
            holder.run("h", first, 8, null);
            holder.run("filler", tokens(6, 250), 2, null); // takes every block: the prefix goes to memory
            holder.noBlockTaken();
            long restoredBefore = holder.engine().kvStats().restoredBlocks();
            int[] got = fetcher.run("f", second, 12, holder.hintTo());
            assertArrayEquals(recomputed(second, 12), got);
            eventually(PREFIX, () -> fetcher.engine().transferStats().loadedTokens());
            waitFor(() -> holder.engine().kvStats().restoredBlocks() - restoredBefore == 4);
            holder.noBlockTaken();
            fetcher.noBlockTaken();
        }
    }

    @Test
    void aPeerWithoutThePrefixSendsNothingAndThePromptIsComputedHere() throws Exception {
        int[] prompt = withPrefix(7, 10);
        try (Replica holder = Replica.of(Set.of("127.0.0.1:1"));
                Replica fetcher = Replica.of(Set.of(holder.kvAddress()))) {
            int[] got = fetcher.run("f", prompt, 12, holder.hintTo());
            assertArrayEquals(recomputed(prompt, 12), got);
            eventually(prompt.length - 1, () -> fetcher.engine().stats().promptTokensComputed());
            assertEquals(0, fetcher.engine().transferStats().loadedTokens());
            assertEquals(0, fetcher.engine().transferStats().loadFailures());
            assertEquals(1, holder.counter("prefix_queries_served"));
            assertEquals(0, holder.counter("prefix_blocks_sent"));
            holder.noBlockTaken();
            fetcher.noBlockTaken();
        }
    }

    @Test
    void aPeerThatGoesAwayMidFetchMeansALocalPrefillAndItsPinIsReleased() throws Exception {
        int[] prompt = withPrefix(8, 12);
        // 2 s of latency before the holder sends anything: time to take it away mid-fetch
        try (Replica holder = Replica.of(64, KvOffloadConfig.NONE, Set.of("127.0.0.1:1"), new LinkShaping(0, 2000),
                Duration.ofSeconds(10));
                Replica fetcher = Replica.of(Set.of(holder.kvAddress()))) {
            holder.run("h", withPrefix(9, 12), 4, null);
            var pending = fetcher.engine().submit(new GenerateRequest("f", prompt,
                    GenerateParams.greedy(12).withIgnoreEos(true), holder.hintTo())).result();
            waitFor(() -> holder.engine().transferStats().pinnedBlocks() == 4); // the holder pinned and waits
            holder.connector().close();
            Completion c = pending.get(60, TimeUnit.SECONDS);
            assertNull(c.error());
            assertArrayEquals(recomputed(prompt, 12), c.samples().get(0).tokenIds());
            eventually(1, () -> fetcher.engine().transferStats().loadFailures());
            eventually(prompt.length - 1, () -> fetcher.engine().stats().promptTokensComputed());
            fetcher.noBlockTaken();
            holder.noBlockTaken(); // the sender gave up and released its pin
        }
    }

    @Test
    void aHintNamingAnAddressOutsideThePeersIsIgnored() throws Exception {
        int[] prompt = withPrefix(10, 10);
        try (Replica holder = Replica.of(Set.of("127.0.0.1:1"));
                Replica fetcher = Replica.of(Set.of("127.0.0.1:2"))) {
            holder.run("h", prompt, 2, null);
            assertArrayEquals(recomputed(prompt, 8), fetcher.run("f", prompt, 8, holder.hintTo()));
            assertEquals(1, fetcher.counter("prefix_hints_ignored"));
            assertEquals(0, fetcher.counter("prefix_fetches"));
            assertEquals(0, holder.counter("prefix_queries_served") + holder.counter("prefix_queries_refused"));
            fetcher.noBlockTaken();
        }
    }

    @Test
    void hostileQueriesAreRefusedAndTheHolderGoesOnServing() throws Exception {
        try (Replica holder = Replica.of(Set.of("127.0.0.1:1"))) {
            holder.run("h", withPrefix(12, 20), 4, null);
            String layout = holder.executor().kvBlocks().layout();
            String wholePrefix = java.util.Arrays.toString(prefix);
            List<String> hostile = new ArrayList<>(List.of(
                    "not json",
                    "[1,2,3]",
                    "{\"prefix_tokens\":\"abc\",\"from_block\":0,\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":[],\"from_block\":0,\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":[1,2,3],\"from_block\":0,\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix.replaceFirst("\\[\\d+", "[-5") + ",\"from_block\":0,"
                            + "\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix.replaceFirst("\\[\\d+", "[1.5") + ",\"from_block\":0,"
                            + "\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix.replaceFirst("\\[\\d+", "[99999999999") + ",\"from_block\":0,"
                            + "\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":-1,\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":4,\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":\"0\",\"layout\":\"" + layout + "\"}",
                    "{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":0,\"layout\":\"f32 layers=1\"}",
                    "{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":0}"));
            StringBuilder tooLong = new StringBuilder("{\"prefix_tokens\":[");
            for (int i = 0; i < PeerPrefixFetch.MAX_PREFIX_TOKENS + BLOCK; i++) {
                tooLong.append(i == 0 ? "1" : ",1");
            }
            hostile.add(tooLong.append("],\"from_block\":0,\"layout\":\"").append(layout).append("\"}").toString());
            LinkedBlockingQueue<Frame> answers = new LinkedBlockingQueue<>();
            try (Node client = new Node(TOKEN, 0, (l, f) -> answers.add(f), l -> { }, null)) {
                Link link = client.connect(new InetSocketAddress("127.0.0.1", holder.connector().address().getPort()),
                        Duration.ofSeconds(5));
                for (int i = 0; i < hostile.size(); i++) {
                    link.send(MessageType.KV_PULL, 100 + i, hostile.get(i).getBytes(StandardCharsets.UTF_8));
                    Frame f = answers.poll(10, TimeUnit.SECONDS);
                    assertTrue(f != null && f.type() == MessageType.ERROR && f.tag() == 100 + i,
                            "query " + i + " got " + f);
                }
                // a well-formed query from block 1: the holder sends blocks 1..3 of the prefix and says so
                link.send(MessageType.KV_PULL, 7, ("{\"prefix_tokens\":" + wholePrefix + ",\"from_block\":1,"
                        + "\"layout\":\"" + layout + "\"}").getBytes(StandardCharsets.UTF_8));
                int blockFrames = 0;
                for (Frame f; (f = answers.poll(10, TimeUnit.SECONDS)) != null; ) {
                    if (f.type() == MessageType.KV_DONE) {
                        assertEquals(3, ByteBuffer.wrap(f.payload()).order(ByteOrder.LITTLE_ENDIAN).getInt());
                        break;
                    }
                    assertEquals(MessageType.KV_BLOCK, f.type());
                    blockFrames++;
                }
                assertEquals(3 * holder.executor().kvBlocks().layers(), blockFrames);
            }
            assertEquals(hostile.size(), holder.counter("prefix_queries_refused") + 2); // 2 are not prefix queries
            holder.noBlockTaken();
            // still serving its own requests
            int[] p = withPrefix(13, 6);
            assertArrayEquals(recomputed(p, 6), holder.run("after", p, 6, null));
            holder.noBlockTaken();
        }
    }
}
