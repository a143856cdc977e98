package io.tessera.cluster.transport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the shared cluster token comes from, and the rules it must meet. A token given on the
 * command line is visible to every local user in the process list, so a file or the environment
 * variable is preferred and a command-line token draws a warning; a short token is refused because
 * the handshake is its only protection.
 */
public final class ClusterToken {

    /** The environment variable every cluster process reads the token from. */
    public static final String ENV = "TESSERA_CLUSTER_TOKEN";

    /** Shortest token accepted, in UTF-8 bytes (16 random bytes as hex are 32). */
    public static final int MIN_BYTES = 16;

    /** Longest token accepted: its HELLO must fit in {@link HandshakePolicy#MAX_HELLO_BYTES}. */
    public static final int MAX_BYTES = 1024;

    private ClusterToken() {
    }

    /**
     * The token from the first source given: a token file, the command line (with a warning), then
     * the environment. Null when none is given.
     *
     * @param flag the command-line value, or null
     * @param flagName its option name, for the warning
     * @param file the token file, or null
     */
    public static String resolve(String flag, String flagName, Path file, String env) throws IOException {
        if (file != null && flag != null) {
            throw new IllegalArgumentException(flagName + " and the token file are both given; use one");
        }
        if (file != null) {
            return require(read(file), "the token file " + file);
        }
        if (flag != null) {
            ClusterLog.log("warning: " + flagName + " puts the cluster token in the process list, where every local "
                    + "user can read it; prefer a token file or the " + ENV + " environment variable");
            return require(flag, flagName);
        }
        if (env != null && !env.isEmpty()) {
            return require(env, ENV);
        }
        return null;
    }

    /** The file's content without its trailing line break; an empty file is an error. */
    public static String read(Path file) throws IOException {
        String s;
        try {
            s = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read the cluster token file " + file + ": " + e.getMessage(), e);
        }
        return s.strip();
    }

    /** Returns the token if its length is acceptable, else fails naming where it came from. */
    public static String require(String token, String from) {
        int bytes = token == null ? 0 : token.getBytes(StandardCharsets.UTF_8).length;
        if (bytes < MIN_BYTES) {
            throw new IllegalArgumentException("the cluster token from " + from + " has " + bytes + " bytes; at least "
                    + MIN_BYTES + " are required (e.g. the output of `openssl rand -hex 16`)");
        }
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("the cluster token from " + from + " has " + bytes + " bytes; at most "
                    + MAX_BYTES + " are accepted");
        }
        return token;
    }
}
