package io.tessera.core;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the shared test models live: system property {@code tessera.models.dir}, else env
 * {@code TESSERA_MODELS}, else {@code ../shared/models} beside the repository root.
 */
public final class TestModels {

    private TestModels() {
    }

    public static Path dir() {
        String prop = System.getProperty("tessera.models.dir");
        if (prop == null || prop.isBlank()) {
            prop = System.getenv("TESSERA_MODELS");
        }
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        return repoRoot().resolveSibling("shared").resolve("models");
    }

    public static Path file(String name) {
        Path p = dir().resolve(name);
        if (!Files.exists(p)) {
            throw new IllegalStateException("test model " + p + " not found; set -Dtessera.models.dir");
        }
        return p;
    }

    public static Path stories260K() {
        return file("stories260K.bin");
    }

    public static Path tok512() {
        return file("tok512.bin");
    }

    public static Path golden(String name) {
        return file("golden/" + name);
    }

    public static Path repoRoot() {
        String root = System.getProperty("tessera.repo.root");
        if (root != null && !root.isBlank()) {
            return Path.of(root).toAbsolutePath().normalize();
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("mvnw"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
