package io.tessera.core;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the shared test models: system property {@code tessera.models.dir}, else env
 * {@code TESSERA_MODELS}, else {@code <repo root>/../shared/models}.
 */
public final class TestModels {
    private TestModels() {}

    public static Path dir() {
        String prop = System.getProperty("tessera.models.dir");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("TESSERA_MODELS");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return repoRoot().resolve("..").resolve("shared").resolve("models").normalize();
    }

    public static Path file(String name) {
        return dir().resolve(name);
    }

    /** System property {@code tessera.repo.root} (set by surefire), else the nearest ancestor holding {@code mvnw}. */
    public static Path repoRoot() {
        String prop = System.getProperty("tessera.repo.root");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("mvnw"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the repository root (no mvnw above "
                + Path.of("").toAbsolutePath() + "); set -Dtessera.models.dir");
    }
}
