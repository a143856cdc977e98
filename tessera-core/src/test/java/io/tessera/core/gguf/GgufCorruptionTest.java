package io.tessera.core.gguf;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damages a small valid GGUF file at random, thousands of times, and reads everything from it.
 * The only acceptable outcomes are success and a {@link ModelFormatException} that names the
 * file: any other exception, an error such as OutOfMemoryError, or a hang fails the test.
 */
class GgufCorruptionTest {

    /** 2000 by default; raise with -Dtessera.gguf.fuzzIterations=100000 for a longer hunt. */
    private static final int ITERATIONS = Integer.getInteger("tessera.gguf.fuzzIterations", 2000);

    @TempDir
    Path dir;

    private byte[] validFile() throws IOException {
        String[] tokens = new String[40];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = "piece" + i;
        }
        Path file = dir.resolve("valid.gguf");
        new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.block_count", 2)
                .putFloat32("llama.rope.freq_base", 10000f).putStringArray("tokenizer.ggml.tokens", tokens)
                .putIntArray("tokenizer.ggml.token_type", new int[40])
                .putArray("nested", GgufArray.ofArrays(GgufArray.ofFloat32(1, 2), GgufArray.ofStrings("s")))
                .addTensor("token_embd.weight", GgmlType.Q8_0, new long[] {64, 4}, (r, d) -> Arrays.fill(d, r))
                .addTensor("blk.0.attn_norm.weight", GgmlType.F32, new long[] {64}, (r, d) -> Arrays.fill(d, 1))
                .addTensor("blk.0.ffn_up.weight", GgmlType.Q4_K, new long[] {256, 2}, (r, d) -> Arrays.fill(d, -r))
                .addTensor("output.weight", GgmlType.Q6_K, new long[] {256}, (r, d) -> Arrays.fill(d, 0.5f))
                .write(file);
        return Files.readAllBytes(file);
    }

    @Test
    void randomDamageIsReportedOrHarmless() throws IOException {
        byte[] valid = validFile();
        Path file = dir.resolve("damaged.gguf");
        Random rnd = new Random(Long.getLong("tessera.gguf.fuzzSeed", 20240607));
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(60 + ITERATIONS / 100), () -> {
            for (int i = 0; i < ITERATIONS; i++) {
                byte[] damaged = damage(valid, rnd);
                Files.write(file, damaged);
                outcomes[readEverything(file, i) ? 0 : 1]++;
            }
        });
        // Sanity: the damage is neither always fatal nor always harmless.
        assertTrue(outcomes[0] > 0 && outcomes[1] > ITERATIONS / 4,
                "opened " + outcomes[0] + ", rejected " + outcomes[1]);
    }

    private static byte[] damage(byte[] valid, Random rnd) {
        byte[] b = valid.clone();
        // The header (where damage matters) is small; aim most damage there.
        int headerEnd = Math.min(b.length, 1200);
        switch (rnd.nextInt(4)) {
            case 0 -> {
                int flips = 1 + rnd.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    b[rnd.nextInt(headerEnd)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> b[rnd.nextInt(headerEnd)] = (byte) rnd.nextInt(256);
            case 2 -> {
                return Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            default -> {
                long[] huge = {-1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, 1L << 40, 0xFFFF_FFFFL,
                        Integer.MAX_VALUE, rnd.nextLong(), 0};
                long v = huge[rnd.nextInt(huge.length)];
                int at = rnd.nextInt(headerEnd - 8);
                for (int k = 0; k < 8; k++) {
                    b[at + k] = (byte) (v >>> (8 * k));
                }
            }
        }
        return b;
    }

    /** True when the file opened and read fully, false when it was rejected as it should be. */
    private static boolean readEverything(Path file, int iteration) {
        try (GgufFile g = GgufFile.open(file)) {
            GgufMetadata m = g.metadata();
            for (String key : m.keys()) {
                Object v = m.value(key);
                if (v instanceof GgufArray a && a.elementType() == GgufValueType.STRING) {
                    m.getStringArray(key);
                }
                String.valueOf(v);
            }
            for (GgufTensorInfo info : g.tensorInfos()) {
                Tensor t = g.tensor(info.name());
                long n = t.data().byteSize();
                t.data().get(ValueLayout.JAVA_BYTE, 0);
                t.data().get(ValueLayout.JAVA_BYTE, n - 1);
            }
            m.findInt("llama.block_count");
            return true;
        } catch (ModelFormatException e) {
            if (!e.getMessage().startsWith("damaged.gguf: ")) {
                throw new AssertionError("iteration " + iteration + ": message does not name the file: "
                        + e.getMessage(), e);
            }
            return false;
        } catch (Throwable t) {
            throw new AssertionError("iteration " + iteration + ": " + t, t);
        }
    }
}
