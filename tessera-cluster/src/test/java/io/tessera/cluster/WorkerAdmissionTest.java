package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.tessera.cluster.transport.HandshakePolicy;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.engine.executor.LocalExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a worker process lets in: before authenticating, a connection may send one small HELLO in
 * a bounded time, else it is closed without anything being buffered; a worker serves one
 * coordinator at a time; an address that keeps failing the handshake is locked out for a while.
 * After every hostile connection the worker still serves a real coordinator, with the tokens of
 * the single-process engine.
 */
class WorkerAdmissionTest {

    private static final int[][] PROMPTS = ClusterTestSupport.prompts(3, 512, 12, 7);

    @TempDir
    static Path dir;

    private static LocalCluster cluster;
    private static Path model;
    private static List<int[]> reference;

    @BeforeAll
    static void start() throws Exception {
        model = ClusterTestSupport.tinyGqa(dir, "F32");
        try (Model m = ModelLoader.load(model); Parallel par = new Parallel(1);
                LocalExecutor local = new LocalExecutor(m, par, KvCacheType.F32, 16, 32)) {
            reference = ClusterTestSupport.greedy(local, PROMPTS, 6).tokens();
        }
        cluster = LocalCluster.start(1, "160m", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static DistributedExecutor coordinator() throws IOException {
        return DistributedExecutor.connect(ClusterConfig.of(model, 1, 1, cluster.addresses(), cluster.token(),
                KvCacheType.F32, 32, 16));
    }

    private static void assertGenerates(DistributedExecutor ex) {
        ClusterTestSupport.Run run = ClusterTestSupport.greedy(ex, PROMPTS, 6);
        for (int i = 0; i < PROMPTS.length; i++) {
            assertNull(run.errors().get(i));
            assertArrayEquals(reference.get(i), run.tokens().get(i));
        }
    }

    private static void assertWorkerServes() throws IOException {
        try (DistributedExecutor ex = coordinator()) {
            assertGenerates(ex);
        }
    }

    private static Socket rawConnection() throws IOException {
        String[] hp = cluster.addresses().get(0).split(":");
        return new Socket(hp[0], Integer.parseInt(hp[1]));
    }

    /** A frame header as the wire has it: u32 length (after this field), u8 type, i16 source, i64 tag. */
    private static byte[] header(long lengthAfterField, MessageType type) {
        return ByteBuffer.allocate(15).order(ByteOrder.LITTLE_ENDIAN).putInt((int) lengthAfterField)
                .put((byte) type.code()).putShort((short) -1).putLong(0).array();
    }

    /** Reads until the worker closes the connection; fails if it is still open after {@code millis}. */
    private static void assertClosedBy(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        InputStream in = s.getInputStream();
        byte[] buf = new byte[512];
        try {
            for (int i = 0; i < 1000; i++) {
                if (in.read(buf) < 0) {
                    return;
                }
            }
            fail("the worker keeps sending on a connection that never authenticated");
        } catch (SocketTimeoutException e) {
            fail("a connection that never authenticated is still open after " + millis + " ms");
        } catch (SocketException e) {
            // reset by the worker: closed as well
        }
    }

    @Test
    void aFrameLargerThanAHelloBeforeTheHandshakeIsCutOffAtOnce() throws Exception {
        try (Socket s = rawConnection()) {
            OutputStream out = s.getOutputStream();
            out.write(header((1L << 30) - 64, MessageType.HELLO)); // just under the old 1 GiB cap
            // go on sending the declared gigabyte: a worker that buffered it would accept all 64 MiB
            byte[] slice = new byte[64 * 1024];
            boolean refused = false;
            for (int i = 0; i < 1024 && !refused; i++) {
                try {
                    out.write(slice);
                } catch (IOException e) {
                    refused = true;
                }
            }
            assertTrue(refused, "the worker accepted 64 MiB of a frame before authentication");
            assertClosedBy(s, 20_000);
        }
        assertWorkerServes();
    }

    @Test
    void silentAndPartialConnectionsAreClosedAfterTheHandshakeDeadline() throws Exception {
        try (Socket silent = rawConnection(); Socket partial = rawConnection()) {
            OutputStream out = partial.getOutputStream();
            out.write(header(11 + 40, MessageType.HELLO));
            out.write(new byte[10]); // 10 of the 40 token bytes it announced, then nothing
            out.flush();
            int deadline = (int) HandshakePolicy.DEFAULT.timeout().toMillis();
            assertClosedBy(silent, deadline + 15_000);
            assertClosedBy(partial, deadline + 15_000);
        }
        assertWorkerServes();
    }

    @Test
    void malformedFirstFramesAreRefusedWithoutWaitingForTheDeadline() throws Exception {
        byte[][] openings = {
            header(11, MessageType.PLAN), // a plan before the handshake
            ByteBuffer.allocate(15).order(ByteOrder.LITTLE_ENDIAN).putInt(11).put((byte) 99).array(), // no such type
            ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(3).array(), // shorter than a header
        };
        for (byte[] opening : openings) {
            try (Socket s = rawConnection()) {
                s.getOutputStream().write(opening);
                // closed on the frame itself: well before the 5 s handshake deadline would close it
                assertClosedBy(s, 4000);
            }
        }
        assertWorkerServes();
    }

    @Test
    void anAuthenticatedFrameBeyondWhatAPlanCanNeedClosesTheConnection() throws Exception {
        Node client = new Node(cluster.token(), -1, (l, f) -> { }, l -> { }, null);
        try {
            String[] hp = cluster.addresses().get(0).split(":");
            Link link = client.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), Duration.ofSeconds(10));
            client.maxFrame(Integer.MAX_VALUE - 64);
            // no plan yet: only control frames (plans, reports) fit, not 2 MiB of activations
            link.send(MessageType.ACTIVATION, 1, new byte[2 << 20]);
            for (int i = 0; i < 200 && link.isOpen(); i++) {
                Thread.sleep(50);
            }
            assertTrue(!link.isOpen(), "the worker kept a connection that sent an oversized frame");
        } finally {
            client.close();
        }
        assertWorkerServes();
    }

    @Test
    void aSecondCoordinatorIsRefusedWhileTheFirstHoldsTheWorker() throws Exception {
        try (DistributedExecutor first = coordinator()) {
            IOException e = assertThrows(IOException.class, WorkerAdmissionTest::coordinator);
            assertTrue(e.getMessage().contains("already serves another coordinator"), e.getMessage());
            assertGenerates(first);
            assertNull(first.health());
        }
        // the first one gone, the worker takes another
        assertWorkerServes();
    }

    @Test
    void onlyTheCoordinatorMayAbortReleaseOrStepTheWorker() throws Exception {
        try (DistributedExecutor first = coordinator()) {
            Node other = new Node(cluster.token(), -1, (l, f) -> { }, l -> { }, null);
            try {
                String[] hp = cluster.addresses().get(0).split(":");
                Link link = other.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), Duration.ofSeconds(10));
                link.send(MessageType.ABORT, Long.MAX_VALUE, new byte[0]);
                link.send(MessageType.RELEASE, 0, new byte[0]);
                link.send(MessageType.STEP, Long.MAX_VALUE - 1, new byte[16]);
                Thread.sleep(300);
            } finally {
                other.close();
            }
            assertGenerates(first);
            assertNull(first.health());
        }
    }

    @Test
    void anAddressThatKeepsFailingTheHandshakeIsLockedOutForAWhile() throws Exception {
        String token = "the-right-cluster-token";
        HandshakePolicy policy = new HandshakePolicy(Duration.ofSeconds(5), 3, Duration.ofMillis(1500));
        Node server = new Node(token, 0, (l, f) -> { }, l -> { }, null, policy);
        Node guesser = new Node("a-guessed-cluster-token", 1, (l, f) -> { }, l -> { }, null);
        Node owner = new Node(token, 2, (l, f) -> { }, l -> { }, null);
        try {
            InetSocketAddress a = server.listen("127.0.0.1", 0);
            for (int i = 0; i < 3; i++) {
                IOException e = assertThrows(IOException.class, () -> guesser.connect(a, Duration.ofSeconds(5)));
                assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
            }
            // locked out: even the right token is not heard now
            assertThrows(IOException.class, () -> owner.connect(a, Duration.ofSeconds(5)));
            Link link = null;
            for (int i = 0; i < 100 && link == null; i++) {
                Thread.sleep(200);
                try {
                    link = owner.connect(a, Duration.ofSeconds(5));
                } catch (IOException stillLockedOut) {
                    // the lockout has not ended yet
                }
            }
            assertTrue(link != null && link.isOpen(), "the lockout never ended");
        } finally {
            owner.close();
            guesser.close();
            server.close();
        }
    }
}
