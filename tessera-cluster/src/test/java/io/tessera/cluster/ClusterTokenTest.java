package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.transport.Node;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the cluster token comes from: a file, the environment, or the command line with a warning; never a short one. */
class ClusterTokenTest {

    private static final String GOOD = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path dir;

    @Test
    void aTokenFileIsReadWithoutItsLineBreak() throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, GOOD + "\n");
        assertEquals(GOOD, ClusterToken.resolve(null, "--token", f, "ignored-environment-token"));
    }

    @Test
    void theEnvironmentIsUsedWhenNothingElseIsGiven() throws Exception {
        assertEquals(GOOD, ClusterToken.resolve(null, "--token", null, GOOD));
        assertNull(ClusterToken.resolve(null, "--token", null, null));
    }

    @Test
    void aTokenOnTheCommandLineDrawsAWarning() throws Exception {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(GOOD, ClusterToken.resolve(GOOD, "--token", null, null));
        } finally {
            System.setErr(old);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("warning: --token puts the cluster token in the process list"), log);
        assertTrue(!log.contains(GOOD), "the warning repeats the token: " + log);
    }

    @Test
    void shortOrHugeTokensAreRefusedNamingTheirSource() throws Exception {
        Path f = dir.resolve("short");
        Files.writeString(f, "tooshort\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterToken.resolve(null, "--token", f, null));
        assertTrue(e.getMessage().contains("token file " + f) && e.getMessage().contains("8 bytes")
                && e.getMessage().contains("at least 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClusterToken.resolve("abc", "--token", null, null));
        assertTrue(e.getMessage().contains("--token"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClusterToken.resolve(null, "--token", null, "abc"));
        assertTrue(e.getMessage().contains(ClusterToken.ENV), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Node("abc", 0, (l, fr) -> { }, l -> { }, null).close());
        e = assertThrows(IllegalArgumentException.class,
                () -> ClusterToken.resolve(null, "--token", null, "x".repeat(ClusterToken.MAX_BYTES + 1)));
        assertTrue(e.getMessage().contains("at most " + ClusterToken.MAX_BYTES), e.getMessage());
    }

    @Test
    void aFileAndACommandLineTokenTogetherAreAmbiguous() throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, GOOD);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterToken.resolve(GOOD, "--token", f, null));
        assertTrue(e.getMessage().contains("--token"), e.getMessage());
    }
}
