package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.collective.RingCollectives;
import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.Wire;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Ring all-reduce and all-gather over real Netty connections on loopback, in one process. */
class CollectivesTest {

    private static final String TOKEN = "a-cluster-token-of-32-characters";

    private record Ring(List<Node> nodes, List<RingCollectives> ranks) implements AutoCloseable {
        @Override
        public void close() {
            nodes.forEach(Node::close);
        }
    }

    private static Ring ring(int p, Wire wire) throws Exception {
        List<Node> nodes = new ArrayList<>();
        List<Mailbox> boxes = new ArrayList<>();
        List<InetSocketAddress> addr = new ArrayList<>();
        for (int i = 0; i < p; i++) {
            Mailbox box = new Mailbox();
            Node n = new Node(TOKEN, i, (l, f) -> box.put(f), l -> { });
            addr.add(n.listen("127.0.0.1", 0));
            nodes.add(n);
            boxes.add(box);
        }
        List<RingCollectives> ranks = new ArrayList<>();
        for (int i = 0; i < p; i++) {
            Link next = nodes.get(i).connect(addr.get((i + 1) % p), Duration.ofSeconds(5));
            ranks.add(new RingCollectives(i, p, next, (i + p - 1) % p, boxes.get(i), wire, 5000, s -> null));
        }
        return new Ring(nodes, ranks);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void allReduceSumsAndEveryRankAgrees(int p) throws Exception {
        int n = 1000;
        Random rnd = new Random(p);
        float[][] parts = new float[p][n];
        for (float[] part : parts) {
            for (int i = 0; i < n; i++) {
                part[i] = (float) rnd.nextGaussian();
            }
        }
        try (Ring r = ring(p, Wire.F32); ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(p)) {
            float[][] bufs = new float[p][];
            for (int k = 0; k < p; k++) {
                bufs[k] = parts[k].clone();
            }
            List<Future<?>> fs = new ArrayList<>();
            for (int k = 0; k < p; k++) {
                int rank = k;
                fs.add(pool.submit(() -> {
                    r.ranks().get(rank).beginStep(1);
                    r.ranks().get(rank).allReduceSum(bufs[rank], n);
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            for (int k = 1; k < p; k++) {
                assertArrayEquals(bufs[0], bufs[k], "rank " + k + " differs from rank 0");
            }
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (float[] part : parts) {
                    sum += part[i];
                }
                assertEquals(sum, bufs[0][i], 1e-4);
            }
            // per rank: 2(p-1) chunks of about n/p floats, plus a header each
            for (int k = 0; k < p; k++) {
                long sent = r.nodes().get(k).counters().sentBytes(MessageType.REDUCE_CHUNK)
                        + r.nodes().get(k).counters().sentBytes(MessageType.GATHER_CHUNK);
                double expected = 2.0 * (p - 1) / p * n * 4 + 2 * (p - 1) * Frame.HEADER_BYTES;
                assertEquals(expected, sent, 2 * (p - 1) * 4.0, "rank " + k);
            }
        }
    }

    @Test
    void bf16WireHalvesTheBytesAndKeepsRanksIdentical() throws Exception {
        int p = 3;
        int n = 600;
        try (Ring r = ring(p, Wire.BF16); ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(p)) {
            float[][] bufs = new float[p][n];
            for (int k = 0; k < p; k++) {
                for (int i = 0; i < n; i++) {
                    bufs[k][i] = (k + 1) * 0.001f * i;
                }
            }
            List<Future<float[]>> gathered = new ArrayList<>();
            for (int k = 0; k < p; k++) {
                int rank = k;
                gathered.add(pool.submit(() -> {
                    r.ranks().get(rank).beginStep(1);
                    r.ranks().get(rank).allReduceSum(bufs[rank], n);
                    return r.ranks().get(rank).allGather(new float[] {rank, rank + 0.5f}, 2);
                }));
            }
            for (int k = 0; k < p; k++) {
                assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f}, gathered.get(k).get());
            }
            for (int k = 1; k < p; k++) {
                assertArrayEquals(bufs[0], bufs[k]);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(6 * 0.001 * i, bufs[0][i], Math.max(1e-3, 6 * 0.001 * i / 100));
            }
            long sent = r.nodes().get(0).counters().sentBytes(MessageType.REDUCE_CHUNK);
            assertTrue(sent < (p - 1) * (n / p * 2 + 2 + Frame.HEADER_BYTES) + 8, "bytes " + sent);
        }
    }

    @Test
    void wrongTokenGetsAClearRefusal() throws Exception {
        Node server = new Node("the-right-cluster-token", 0, (l, f) -> { }, l -> { });
        Node client = new Node("a-wrong-cluster-token", 1, (l, f) -> { }, l -> { });
        try {
            InetSocketAddress a = server.listen("127.0.0.1", 0);
            java.io.IOException e = assertThrows(java.io.IOException.class,
                    () -> client.connect(a, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
        } finally {
            client.close();
            server.close();
        }
    }

    @Test
    void batchSplitKeepsEverySequenceOnce() {
        io.tessera.core.forward.ForwardBatch.Builder b = io.tessera.core.forward.ForwardBatch.builder();
        b.add(new int[] {0}, new int[] {5, 6, 7}, 0, io.tessera.core.forward.ForwardBatch.Logits.LAST);
        b.add(new int[] {1, 2}, new int[] {9}, 20, io.tessera.core.forward.ForwardBatch.Logits.LAST);
        b.add(new int[] {3}, new int[] {4, 4}, 0, io.tessera.core.forward.ForwardBatch.Logits.NONE);
        b.add(new int[] {4}, new int[] {8, 8}, 0, io.tessera.core.forward.ForwardBatch.Logits.ALL);
        io.tessera.core.forward.ForwardBatch batch = b.build();
        List<BatchCodec.Chunk> chunks = BatchCodec.chunks(batch);
        List<List<BatchCodec.Chunk>> parts = BatchCodec.split(chunks, 2);
        assertEquals(2, parts.size());
        int logits = 0;
        int seqs = 0;
        for (int i = 0; i < parts.size(); i++) {
            byte[] wire = BatchCodec.encode(i, parts.size(), new int[] {1}, new int[] {2}, parts.get(i));
            BatchCodec.Step s = BatchCodec.decode(wire);
            logits += s.batch().logitCount();
            seqs += s.batch().sequenceCount();
            assertArrayEquals(new int[] {1}, s.copyFrom());
        }
        assertEquals(batch.logitCount(), logits);
        assertEquals(4, seqs);
        assertArrayEquals(batch.logitTokens(), BatchCodec.build(chunks).logitTokens());
    }
}
