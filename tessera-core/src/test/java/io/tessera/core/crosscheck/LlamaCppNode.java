package io.tessera.core.crosscheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;

/**
 * Current llama.cpp, as node-llama-cpp's prebuilt CPU binaries (the version {@code bench/llamacpp-node}
 * pins), driven by {@code bench/llamacpp-node/logits.mjs}: the logits at every position of a prompt
 * and a greedy continuation. node-llama-cpp is installed there with npm when missing (the directory
 * {@code bench/compare.sh} uses, so both share one install). A test using it is skipped, saying so,
 * only when node or npm is not on this machine; a failed install or run fails the test. Public for
 * the engine's embedding cross-check ({@link #embeddings}).
 */
public final class LlamaCppNode {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long INSTALL_TIMEOUT_S = 600;
    private static final long RUN_TIMEOUT_S = 300;

    /** What llama.cpp computed: the prompt's logits, then each greedy token and the logits that chose it. */
    record Result(String release, String cpuVariant, float[][] promptLogits, int[] generated,
            float[][] generatedLogits) {

        /** The logits that chose generated token {@code step}: the prompt's last row, then the steps'. */
        float[] logitsBefore(int step) {
            return step == 0 ? promptLogits[promptLogits.length - 1] : generatedLogits[step - 1];
        }
    }

    private final Path packageDir;

    private LlamaCppNode(Path packageDir) {
        this.packageDir = packageDir;
    }

    /** Finds node and npm (skipping the test when either is absent) and installs node-llama-cpp if needed. */
    public static synchronized LlamaCppNode install() throws IOException {
        for (String tool : List.of("node", "npm")) {
            if (!onPath(tool)) {
                System.err.println("*** SKIPPED: '" + tool + "' is not on this machine's PATH, so Tessera's logits"
                        + " are NOT checked against llama.cpp here. Install Node.js 18+ with npm to run this test. ***");
                Assumptions.abort(tool + " is not installed: the llama.cpp cross-check needs Node.js and npm");
            }
        }
        Path dir = TestModels.repoRoot().resolve("bench").resolve("llamacpp-node");
        if (!Files.isRegularFile(dir.resolve("package.json"))) {
            throw new IOException("no package.json in " + dir);
        }
        if (!Files.isDirectory(dir.resolve("node_modules").resolve("node-llama-cpp"))) {
            System.err.println("installing node-llama-cpp with npm into " + dir + " ...");
            // --ignore-scripts: the prebuilt binaries come as packages; no build, no download at run time
            run(dir, List.of("npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"), INSTALL_TIMEOUT_S);
        }
        return new LlamaCppNode(dir);
    }

    /**
     * Evaluates {@code prompt} in one batch with an F32 KV cache and no flash attention, then
     * continues greedily for {@code generate} tokens.
     */
    Result logits(Path gguf, int[] prompt, int generate, int threads) throws IOException {
        String ids = Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","));
        String out = run(packageDir, List.of("node", packageDir.resolve("logits.mjs").toString(), gguf.toString(), ids,
                Integer.toString(generate), Integer.toString(threads), "F32"), RUN_TIMEOUT_S);
        String line = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                .orElseThrow(() -> new IOException("logits.mjs printed no JSON: " + tail(out)));
        JsonNode json = JSON.readTree(line);
        JsonNode kv = json.path("kv_types_in_use");
        // GGML type 0 is F32: the cache must be what was asked for, or the comparison measures F16 rounding
        if (kv.size() != 2 || kv.get(0).asInt(-1) != 0 || kv.get(1).asInt(-1) != 0) {
            throw new IOException("llama.cpp did not take an F32 KV cache: " + kv);
        }
        return new Result(json.path("release").asText(), json.path("cpu_variant").asText(),
                matrix(json.path("prompt_logits")), ints(json.path("generated")), matrix(json.path("generated_logits")));
    }

    /**
     * llama.cpp's embedding of each input (token ids starting with BOS), evaluated alone, as
     * {@code embedding.mjs} returns it: for a file without {@code <arch>.pooling_type}, the last
     * token's final hidden state after the output norm, not normalised.
     */
    public float[][] embeddings(Path gguf, List<int[]> inputs, int threads) throws IOException {
        String ids = inputs.stream().map(in -> Arrays.stream(in).mapToObj(Integer::toString)
                .collect(Collectors.joining(","))).collect(Collectors.joining(";"));
        String out = run(packageDir, List.of("node", packageDir.resolve("embedding.mjs").toString(), gguf.toString(),
                ids, Integer.toString(threads)), RUN_TIMEOUT_S);
        String line = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                .orElseThrow(() -> new IOException("embedding.mjs printed no JSON: " + tail(out)));
        JsonNode json = JSON.readTree(line);
        int[] lengths = ints(json.path("input_lengths"));
        for (int i = 0; i < inputs.size(); i++) {
            if (lengths.length != inputs.size() || lengths[i] != inputs.get(i).length) {
                // node-llama-cpp added a BOS or EOS token: the two engines would embed different inputs
                throw new IOException("llama.cpp evaluated " + Arrays.toString(lengths) + " tokens for inputs of "
                        + inputs.stream().map(a -> a.length).toList());
            }
        }
        return matrix(json.path("vectors"));
    }

    private static float[][] matrix(JsonNode rows) {
        float[][] m = new float[rows.size()][];
        for (int r = 0; r < m.length; r++) {
            JsonNode row = rows.get(r);
            m[r] = new float[row.size()];
            for (int i = 0; i < m[r].length; i++) {
                // each value is a float32 printed as the shortest double that names it: exact
                m[r][i] = (float) row.get(i).asDouble();
            }
        }
        return m;
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a command to completion within the timeout; returns its standard output, fails with its error output. */
    private static String run(Path dir, List<String> command, long timeoutSeconds) throws IOException {
        Path stdout = Files.createTempFile("llamacpp-node-", ".out");
        Path stderr = Files.createTempFile("llamacpp-node-", ".err");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(command)).directory(dir.toFile())
                    .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
            try {
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            if (p.exitValue() != 0) {
                throw new IOException(command.get(0) + " " + command.get(1) + " failed (exit " + p.exitValue() + "): "
                        + tail(Files.readString(stderr)));
            }
            return Files.readString(stdout);
        } finally {
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(stderr);
        }
    }

    private static String tail(String s) {
        return s.substring(Math.max(0, s.length() - 1500)).strip();
    }
}
