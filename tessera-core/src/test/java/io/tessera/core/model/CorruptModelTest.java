package io.tessera.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.tessera.core.TestModels;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged or unsupported model files fail with a clear error naming the file, the field and the reason. */
class CorruptModelTest {

    @TempDir
    Path dir;

    @Test
    void truncatedLlama2cCheckpointIsRejected() throws Exception {
        byte[] bytes = Files.readAllBytes(TestModels.stories260K());
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(cut));
        assertTrue(e.getMessage().startsWith("cut.bin: tensors: "), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void absurdLlama2cHeaderIsRejected() throws Exception {
        byte[] bytes = Files.readAllBytes(TestModels.stories260K());
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(2 * 4, 1_000_000_000);
        Path bad = dir.resolve("bad.bin");
        Files.write(bad, bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(bad));
        assertEquals("bad.bin: n_layers: value 1000000000 is out of range (1..1048576)", e.getMessage());
    }

    @Test
    void unsupportedArchitectureIsNamed() throws Exception {
        Path f = dir.resolve("gemma.gguf");
        new GgufWriter().putString("general.architecture", "gemma")
                .addRawTensor("token_embd.weight", GgmlType.F32, new long[] {4, 2}, java.lang.foreign.MemorySegment.ofArray(new byte[32]))
                .write(f);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(f));
        assertEquals("gemma.gguf: general.architecture: architecture 'gemma' is not supported (supported: llama,"
                + " mistral, qwen2, qwen3, gemma3, phi3, qwen2moe, qwen3moe, olmoe)", e.getMessage());
    }

    @Test
    void missingTensorAndWrongShapeAreNamed() throws Exception {
        Path good = Stories260K.convert(dir, "F32");
        Path missing = rewrite(good, dir.resolve("missing.gguf"), "blk.2.attn_q.weight", null);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(missing));
        assertTrue(e.getMessage().startsWith("missing.gguf: "), e.getMessage());
        assertTrue(e.getMessage().contains("blk.2.attn_q.weight"), e.getMessage());

        Path wrong = rewrite(good, dir.resolve("wrong.gguf"), "blk.1.ffn_up.weight", new long[] {64, 171});
        e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(wrong));
        assertEquals("wrong.gguf: tensor 'blk.1.ffn_up.weight': shape [64, 171] does not match the metadata,"
                + " expected [64, 172]", e.getMessage());
    }

    /** Copies a GGUF file, dropping one tensor (newDims null) or giving it other dimensions. */
    private static Path rewrite(Path src, Path dst, String tensor, long[] newDims) throws IOException {
        try (GgufFile in = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter().putAll(in.metadata());
            for (var info : in.tensorInfos()) {
                Tensor t = in.tensor(info.name());
                if (!info.name().equals(tensor)) {
                    w.addRawTensor(info.name(), t.type(), t.dims(), t.data());
                } else if (newDims != null) {
                    long n = newDims[0] * newDims[1];
                    w.addRawTensor(info.name(), t.type(), newDims, t.data().asSlice(0, n * 4));
                }
            }
            w.write(dst);
        }
        return dst;
    }

    /**
     * Flips, truncates and overwrites bytes of a real model file many times and loads it with its
     * tokenizer: the only acceptable outcomes are a loaded model or an IOException naming the file.
     */
    @Test
    void damagedFilesNeverCrashTheLoader() throws Exception {
        byte[] original = Files.readAllBytes(Stories260K.convert(dir, "Q8_0"));
        Random rnd = new Random(1234);
        Path f = dir.resolve("damaged.gguf");
        int rejected = 0;
        for (int i = 0; i < 300; i++) {
            byte[] b = original.clone();
            int header = Math.min(b.length, 40_000); // most damage lands in the metadata, where parsing happens
            switch (i % 3) {
                case 0 -> b[rnd.nextInt(header)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                default -> ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(rnd.nextInt(header - 8), rnd.nextBoolean() ? -1L : rnd.nextLong() >>> rnd.nextInt(40));
            }
            Files.write(f, b);
            try (LoadedModel m = LoadedModel.open(f, null)) {
                assertEquals(m.model().config().vocabSize(), m.tokenizer().vocabSize());
            } catch (IOException e) {
                rejected++;
                assertTrue(e.getMessage().contains("damaged.gguf"), "error names the file: " + e.getMessage());
            } catch (Throwable t) {
                fail("iteration " + i + ": " + t, t);
            }
        }
        assertTrue(rejected > 100, "most damage is detected, got " + rejected);
    }
}
