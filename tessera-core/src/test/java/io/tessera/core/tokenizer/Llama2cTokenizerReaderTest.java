package io.tessera.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cTokenizerReaderTest {
    @TempDir
    Path tmp;

    @Test
    void truncatedFilesFailNamingTheFile() throws IOException {
        byte[] good = Files.readAllBytes(TestModels.file("tok512.bin"));
        for (int cut : new int[] {0, 3, 4, 10, good.length / 2, good.length - 1}) {
            Path f = tmp.resolve("cut" + cut + ".bin");
            Files.write(f, Arrays.copyOf(good, cut));
            IOException e = assertThrows(IOException.class, () -> Llama2cTokenizerReader.read(f, 512));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void hugeOrNegativeLengthsFailCleanly() throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(10).putFloat(0f).putInt(Integer.MAX_VALUE).putInt(0);
        Path f = tmp.resolve("huge.bin");
        Files.write(f, buf.array());
        IOException e = assertThrows(IOException.class, () -> Llama2cTokenizerReader.read(f, 3));
        assertTrue(e.getMessage().contains("piece 0"), e.getMessage());

        buf.clear();
        buf.putInt(10).putFloat(0f).putInt(-5).putInt(0);
        Files.write(f, buf.array());
        e = assertThrows(IOException.class, () -> Llama2cTokenizerReader.read(f, 3));
        assertTrue(e.getMessage().contains("negative length"), e.getMessage());
    }

    @Test
    void readsAllPieces() throws IOException {
        Vocabulary v = Llama2cTokenizerReader.read(TestModels.file("tokenizer-llama2-32k.bin"), 32000);
        assertEquals(32000, v.size());
        assertEquals(15043, v.id(" Hello"));
        assertEquals(0, v.unk());
        assertTrue(v.addBos() && v.addSpacePrefix());
    }

    @Test
    void vocabularyValidation() {
        String[] p = {"<unk>", "<s>", "</s>", "a"};
        float[] s = new float[4];
        assertThrows(IllegalArgumentException.class, () -> new Vocabulary(p, new float[3], null, 1, 2, 0, -1, true, true));
        assertThrows(IllegalArgumentException.class, () -> new Vocabulary(p, s, new int[4], 1, 2, 0, -1, true, true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Vocabulary(p, s, null, 4, 2, 0, -1, true, true));
        assertTrue(e.getMessage().contains("bos id 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Vocabulary(p, s, null, 1, 2, -2, -1, true, true));
        assertEquals(-1, new Vocabulary(p, s, null, 1, 2, -1, -1, true, true).unk());
    }
}
