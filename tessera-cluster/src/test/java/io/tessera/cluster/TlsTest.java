package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.Tls;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cluster connections over TLS with a shared keystore; a plain or wrongly keyed client is refused. */
class TlsTest {

    private static final String TOKEN = "a-cluster-token-of-32-characters";

    @TempDir
    Path dir;

    private Path keystore(String name) throws Exception {
        Path ks = dir.resolve(name + ".p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "tessera", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=" + name, "-validity", "30", "-storetype", "PKCS12", "-keystore", ks.toString(), "-storepass",
                "secret1", "-keypass", "secret1").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        return ks;
    }

    @Test
    void framesTravelOverTlsAndOthersAreRefused() throws Exception {
        Tls tls = Tls.load(keystore("cluster"), "secret1".toCharArray());
        Tls other = Tls.load(keystore("stranger"), "secret1".toCharArray());
        Mailbox box = new Mailbox();
        Node server = new Node(TOKEN, 0, (l, f) -> box.put(f), l -> { }, tls);
        Node client = new Node(TOKEN, 1, (l, f) -> { }, l -> { }, tls);
        Node plain = new Node(TOKEN, 2, (l, f) -> { }, l -> { }, null);
        Node stranger = new Node(TOKEN, 3, (l, f) -> { }, l -> { }, other);
        try {
            InetSocketAddress a = server.listen("127.0.0.1", 0);
            Link l = client.connect(a, Duration.ofSeconds(10));
            l.send(MessageType.ACTIVATION, 7, new byte[] {1, 2, 3});
            Frame f = box.take(MessageType.ACTIVATION, 1, 7, 10_000, s -> null);
            assertArrayEquals(new byte[] {1, 2, 3}, f.payload());
            java.io.PrintStream oldErr = System.err;
            java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
            System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
            try {
                assertThrows(java.io.IOException.class, () -> plain.connect(a, Duration.ofSeconds(2)));
                assertThrows(java.io.IOException.class, () -> stranger.connect(a, Duration.ofSeconds(2)));
                Thread.sleep(200); // the server logs the refusals on its own thread
            } finally {
                System.setErr(oldErr);
            }
            // the plain client sent its token in the clear: the refusal is logged, the bytes are not
            String logged = log.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(logged.contains("not a TLS connection"), logged);
            assertTrue(!logged.contains(java.util.HexFormat.of().formatHex(TOKEN.getBytes())) && !logged.contains(TOKEN),
                    logged);
        } finally {
            client.close();
            plain.close();
            stranger.close();
            server.close();
        }
    }
}
