package io.tessera.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version the build wrote into {@code version.properties} (resource filtering): the Maven
 * project version and the git commit the launcher passed, empty when built without one. What
 * {@code tessera --version} prints and {@code GET /version} answers.
 */
public record BuildInfo(String version, String commit) {

    private static final BuildInfo CURRENT = read();

    public static BuildInfo current() {
        return CURRENT;
    }

    private static BuildInfo read() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new BuildInfo(p.getProperty("version", "unknown"), p.getProperty("commit", "").strip());
    }

    /** {@code tessera 0.1.0 (abc123def456)}, without the brackets when there is no commit. */
    public String line() {
        return "tessera " + version + (commit.isEmpty() ? "" : " (" + commit + ")");
    }
}
