package io.tessera.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * npm packages as test fixtures: fetched once with the npm client ({@code npm pack}, from the
 * registry npm is configured with) at a pinned version, unpacked and cached in
 * {@code tessera.fixture.cache} (default {@code ~/.cache/tessera/npm}). A test needing one is
 * skipped, saying why, when npm or its registry cannot be reached. Nothing of a package runs at
 * fetch time ({@code npm pack} runs no install scripts).
 */
public final class NpmPackages {
    private NpmPackages() {
    }

    /**
     * The unpacked {@code package/} directory of {@code name@version}.
     *
     * @param required a file the package must hold (relative to {@code package/}); its presence
     *     marks a complete cache entry
     * @param members what to unpack of the tarball ({@code package/...} paths); none for all
     */
    public static synchronized Path fetch(String name, String version, String required, String... members) {
        Path dir = cacheDir().resolve(name.replace("@", "").replace('/', '-') + "-" + version);
        Path pkg = dir.resolve("package");
        if (Files.isRegularFile(pkg.resolve(required))) {
            return pkg;
        }
        Path work = null;
        try {
            Files.createDirectories(cacheDir());
            work = Files.createTempDirectory(cacheDir(), "fetch-");
            run(work, List.of("npm", "pack", name + "@" + version, "--silent", "--pack-destination", work.toString()));
            Path tarball;
            try (var files = Files.list(work)) {
                tarball = files.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack left no tarball"));
            }
            Path unpacked = work.resolve("unpacked");
            Files.createDirectories(unpacked);
            List<String> tar = new ArrayList<>(List.of("tar", "-xzf", tarball.toString()));
            tar.addAll(List.of(members));
            run(unpacked, tar);
            if (!Files.isRegularFile(unpacked.resolve("package").resolve(required))) {
                throw new IOException(name + "@" + version + " has no " + required);
            }
            Files.createDirectories(dir.getParent());
            try {
                Files.move(unpacked, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                if (!Files.isRegularFile(pkg.resolve(required))) throw raced;
            }
            deleteTree(work);
            return pkg;
        } catch (IOException e) {
            if (work != null) {
                try {
                    deleteTree(work);
                } catch (IOException ignored) {
                    // a stray fetch- directory is harmless; the fetch's error is the one to report
                }
            }
            Assumptions.abort("cannot fetch " + name + "@" + version + " with npm (registry unreachable?): "
                    + e.getMessage());
            throw new AssertionError(e);
        }
    }

    private static Path cacheDir() {
        String prop = System.getProperty("tessera.fixture.cache");
        return prop != null && !prop.isBlank() ? Path.of(prop)
                : Path.of(System.getProperty("user.home"), ".cache", "tessera", "npm");
    }

    private static void run(Path dir, List<String> command) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("out.log").toFile()).start();
        } catch (IOException e) {
            throw new IOException(command.get(0) + " is not available: " + e.getMessage(), e);
        }
        try {
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 180 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            String log = Files.readString(dir.resolve("out.log"));
            throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): "
                    + log.substring(Math.max(0, log.length() - 400)).strip());
        }
        Files.deleteIfExists(dir.resolve("out.log"));
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
