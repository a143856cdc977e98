package io.tessera.core.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written by {@link GgufWriter} read back through {@link GgufFile} with every value and tensor intact. */
class GgufRoundTripTest {

    @TempDir
    Path dir;

    static GgufWriter allValueTypes(GgufWriter w) {
        return w.putUInt8("u8", 200).putInt8("i8", -100).putUInt16("u16", 60000).putInt16("i16", -30000)
                .putUInt32("u32", 3_000_000_000L).putInt32("i32", -2_000_000_000).putUInt64("u64", -1L)
                .putInt64("i64", Long.MIN_VALUE).putFloat32("f32", 1.5f).putFloat64("f64", Math.PI)
                .putBool("yes", true).putBool("no", false).putString("name", "Tessera ✓ ünïcode")
                .putString("empty", "")
                .putArray("a.u8", GgufArray.ofUInt8((byte) 255, (byte) 0))
                .putArray("a.i8", GgufArray.ofInt8((byte) -1, (byte) 7))
                .putArray("a.u16", GgufArray.ofUInt16((short) 65535))
                .putArray("a.i16", GgufArray.ofInt16((short) -2, (short) 3))
                .putArray("a.u32", GgufArray.ofUInt32(-1, 5))
                .putIntArray("a.i32", -7, 8, 9)
                .putArray("a.u64", GgufArray.ofUInt64(1L << 63, 3))
                .putArray("a.i64", GgufArray.ofInt64(-5L))
                .putFloatArray("a.f32", 0.25f, -1e30f)
                .putArray("a.f64", GgufArray.ofFloat64(1e300, -0.0))
                .putArray("a.bool", GgufArray.ofBool(true, false, true))
                .putStringArray("a.str", "a", "", "ccc")
                .putArray("a.empty", GgufArray.ofInt32())
                .putArray("a.nested", GgufArray.ofArrays(GgufArray.ofStrings("x", "y"), GgufArray.ofInt32(1, 2),
                        GgufArray.ofArrays(GgufArray.ofFloat32(3f))));
    }

    @Test
    void metadataOfEveryTypeSurvivesInOrder() throws IOException {
        Path file = dir.resolve("meta.gguf");
        allValueTypes(new GgufWriter()).write(file);
        try (GgufFile g = GgufFile.open(file)) {
            GgufMetadata m = g.metadata();
            assertEquals(3, g.version());
            assertEquals(32, g.alignment());
            assertEquals(List.of("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no",
                    "name", "empty", "a.u8", "a.i8", "a.u16", "a.i16", "a.u32", "a.i32", "a.u64", "a.i64", "a.f32",
                    "a.f64", "a.bool", "a.str", "a.empty", "a.nested"), new ArrayList<>(m.keys()));
            assertEquals(GgufValueType.UINT8, m.type("u8"));
            assertEquals(200, m.getInt("u8"));
            assertEquals(-100, m.getInt("i8"));
            assertEquals(60000, m.getInt("u16"));
            assertEquals(-30000, m.getInt("i16"));
            assertEquals(3_000_000_000L, m.getLong("u32"));
            assertEquals(-2_000_000_000, m.getInt("i32"));
            assertEquals(-1L, (Long) m.value("u64"));
            assertEquals(Long.MIN_VALUE, m.getLong("i64"));
            assertEquals(1.5f, m.getFloat("f32"));
            assertEquals(Math.PI, m.getDouble("f64"));
            assertEquals(200.0, m.getDouble("u8")); // any number reads as a float
            assertTrue(m.getBoolean("yes"));
            assertFalse(m.getBoolean("no"));
            assertEquals("Tessera ✓ ünïcode", m.getString("name"));
            assertEquals("", m.getString("empty"));
            assertArrayEquals(new byte[] {(byte) 255, 0}, (byte[]) m.getArray("a.u8").raw());
            assertArrayEquals(new int[] {255, 0}, m.getIntArray("a.u8"));
            assertArrayEquals(new int[] {-1, 7}, m.getIntArray("a.i8"));
            assertArrayEquals(new int[] {65535}, m.getIntArray("a.u16"));
            assertArrayEquals(new int[] {-2, 3}, m.getIntArray("a.i16"));
            assertArrayEquals(new long[] {0xFFFF_FFFFL, 5}, m.getLongArray("a.u32"));
            assertArrayEquals(new int[] {-7, 8, 9}, m.getIntArray("a.i32"));
            assertEquals(GgufArray.ofUInt64(1L << 63, 3), m.getArray("a.u64"));
            assertArrayEquals(new long[] {-5}, m.getLongArray("a.i64"));
            assertArrayEquals(new float[] {0.25f, -1e30f}, m.getFloatArray("a.f32"));
            assertArrayEquals(new double[] {1e300, -0.0}, m.getArray("a.f64").toDoubleArray());
            assertArrayEquals(new boolean[] {true, false, true}, m.getArray("a.bool").toBooleanArray());
            assertArrayEquals(new String[] {"a", "", "ccc"}, m.getStringArray("a.str"));
            assertEquals(0, m.getArray("a.empty").length());
            assertEquals(GgufValueType.ARRAY, m.arrayType("a.nested"));
            GgufArray nested = m.getArray("a.nested");
            assertEquals("y", nested.getArray(0).getString(1));
            assertEquals(2, nested.getArray(1).getLong(1));
            assertEquals(3f, nested.getArray(2).getArray(0).toFloatArray()[0]);
            // Copying the metadata into a new file reproduces it byte for byte.
            Path copy = dir.resolve("copy.gguf");
            new GgufWriter().putAll(m).write(copy);
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(copy));
        }
    }

    @Test
    void gettersAreLenientOnWidthAndStrictOnKind() throws IOException {
        Path file = dir.resolve("getters.gguf");
        allValueTypes(new GgufWriter()).putString("llama.block_count", "32").write(file);
        try (GgufFile g = GgufFile.open(file)) {
            GgufMetadata m = g.metadata();
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> m.getInt("llama.block_count"));
            assertEquals("getters.gguf: key 'llama.block_count': is a string, expected an integer", e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getInt("u32"));
            assertTrue(e.getMessage().contains("key 'u32'") && e.getMessage().contains("3000000000"), e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getLong("u64"));
            assertTrue(e.getMessage().contains("18446744073709551615"), e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getString("nope"));
            assertEquals("getters.gguf: key 'nope': is missing", e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getStringArray("a.i32"));
            assertTrue(e.getMessage().contains("is an array of int32, expected an array of strings"), e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getIntArray("a.u32"));
            assertTrue(e.getMessage().contains("4294967295"), e.getMessage());
            e = assertThrows(ModelFormatException.class, () -> m.getBoolean("u8"));
            assertTrue(e.getMessage().contains("is an unsigned 8-bit integer, expected a bool"), e.getMessage());
            assertThrows(ModelFormatException.class, () -> m.getFloat("name"));
            assertThrows(ModelFormatException.class, () -> m.getInt("f32"));
            assertEquals(7, m.getInt("missing", 7));
            assertEquals(200, m.getInt("u8", 7));
            assertEquals(2.5f, m.getFloat("missing", 2.5f));
            assertEquals("d", m.getString("missing", "d"));
            assertTrue(m.getBoolean("missing", true));
            assertEquals(Optional.empty(), m.findString("missing"));
            assertEquals(Optional.of("32"), m.findString("llama.block_count"));
            assertEquals(5, m.getLong("missing", 5));
            assertTrue(m.findInt("i32").isPresent());
            assertTrue(m.findLong("missing").isEmpty());
            assertTrue(m.findFloatArray("a.f32").isPresent());
            assertThrows(ModelFormatException.class, () -> m.getInt("name", 3)); // a default never hides a wrong type
        }
    }

    @Test
    void tensorsOfEverySupportedTypeReadBackAsWritten() throws IOException {
        Path file = dir.resolve("tensors.gguf");
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").alignment(64);
        long[][] shapes = {{256, 3}, {512}, {256, 2, 3}, {256, 1, 1, 2}};
        int k = 0;
        for (GgmlType type : QuantCodec.SUPPORTED) {
            long[] dims = shapes[k++ % shapes.length];
            w.addTensor("t." + type, type, dims, (row, dst) -> fill(type, row, dst));
        }
        // A pre-encoded tensor: Q8_0 bytes quantized here.
        float[] raw = new float[64];
        fill(GgmlType.Q8_0, 99, raw);
        MemorySegment rawBytes = MemorySegment.ofArray(new byte[(int) GgmlType.Q8_0.bytesFor(64)]);
        QuantCodec.of(GgmlType.Q8_0).quantizeRow(raw, 0, 64, rawBytes, 0);
        w.addRawTensor("raw", GgmlType.Q8_0, new long[] {64}, rawBytes);
        w.write(file);
        assertFalse(Files.exists(dir.resolve("tensors.gguf.partial")));

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(64, g.alignment());
            assertEquals(0, g.dataOffset() % 64);
            assertEquals(QuantCodec.SUPPORTED.size() + 1, g.tensorInfos().size());
            k = 0;
            for (GgmlType type : QuantCodec.SUPPORTED) {
                long[] dims = shapes[k++ % shapes.length];
                Tensor t = g.tensor("t." + type);
                assertEquals(type, t.type());
                assertArrayEquals(dims, t.dims());
                GgufTensorInfo info = g.tensorInfos().get(k - 1);
                assertEquals("t." + type, info.name());
                assertEquals(0, info.offset() % 64);
                assertEquals(t.data().address(), g.segment().address() + g.dataOffset() + info.offset());
                QuantCodec codec = QuantCodec.of(type);
                int n = t.rowLength();
                float[] x = new float[n];
                float[] expected = new float[n];
                float[] actual = new float[n];
                MemorySegment scratch = MemorySegment.ofArray(new byte[(int) t.rowBytes()]);
                for (long r = 0; r < t.rowCount(); r++) {
                    fill(type, r, x);
                    codec.quantizeRow(x, 0, n, scratch, 0);
                    codec.dequantizeRow(scratch, 0, expected, 0, n);
                    codec.dequantizeRow(t.data(), r * t.rowBytes(), actual, 0, n);
                    assertArrayEquals(expected, actual, type + " row " + r);
                }
            }
            float[] back = new float[64];
            float[] expected = new float[64];
            QuantCodec.of(GgmlType.Q8_0).dequantizeRow(g.tensor("raw").data(), 0, back, 0, 64);
            QuantCodec.of(GgmlType.Q8_0).dequantizeRow(rawBytes, 0, expected, 0, 64);
            assertArrayEquals(expected, back);
            assertTrue(g.findTensor("output.weight").isEmpty());
            assertTrue(g.findTensor("raw").isPresent());
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> g.tensor("output.weight"));
            assertEquals("tensors.gguf: tensor 'output.weight': is not in the file", e.getMessage());
        }
    }

    private static void fill(GgmlType type, long row, float[] dst) {
        Random rnd = new Random(type.id() * 1000L + row);
        for (int i = 0; i < dst.length; i++) {
            dst[i] = (float) rnd.nextGaussian();
        }
    }

    /** The writer's bytes against the layout written out field by field from the specification. */
    @Test
    void writerProducesTheSpecifiedLayout() throws IOException {
        Path file = dir.resolve("layout.gguf");
        byte[] data = new byte[32];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        new GgufWriter().putString("general.name", "x").putArray("a", GgufArray.ofArrays(GgufArray.ofInt16((short) -2)))
                .addRawTensor("t", GgmlType.F32, new long[] {8}, MemorySegment.ofArray(data))
                .addRawTensor("u", GgmlType.F32, new long[] {4, 2}, MemorySegment.ofArray(data))
                .write(file);
        byte[] expected = GgufBytes.header(3, 2, 2).kvString("general.name", "x")
                .str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.ARRAY.id()).u64(1)
                .u32(GgufValueType.INT16.id()).u64(1).u8(0xFE).u8(0xFF)
                .tensor("t", new long[] {8}, GgmlType.F32.id(), 0).tensor("u", new long[] {4, 2}, GgmlType.F32.id(), 32)
                .padTo(32).raw(data).raw(data).bytes();
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    @Test
    void writerRejectsBadTensors() {
        GgufWriter w = new GgufWriter();
        RowSource zeros = (r, d) -> { };
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.Q8_0, new long[] {48}, zeros));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.Q5_K, new long[] {256}, zeros));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {0}, zeros));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {1, 1, 1, 1, 1},
                zeros));
        w.addTensor("a", GgmlType.F32, new long[] {4}, zeros);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {4}, zeros));
        assertThrows(IllegalArgumentException.class, () -> w.addRawTensor("b", GgmlType.F32, new long[] {4},
                MemorySegment.ofArray(new byte[15])));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt8("k", 256));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
    }

    @Test
    void aFailingRowSourceLeavesNoFile() {
        Path file = dir.resolve("failed.gguf");
        GgufWriter w = new GgufWriter().addTensor("a", GgmlType.F32, new long[] {4, 4}, (r, d) -> {
            if (r == 2) {
                throw new IOException("source went away");
            }
        });
        assertThrows(IOException.class, () -> w.write(file));
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(dir.resolve("failed.gguf.partial")));
    }

    /** A vocabulary the size of Llama 3's parses in well under a second. */
    @Test
    void largeTokenArraysParseFast() throws IOException {
        int n = 150_000;
        String[] tokens = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = "tok" + i;
            scores[i] = -i;
            types[i] = i % 6;
        }
        Path file = dir.resolve("vocab.gguf");
        new GgufWriter().putStringArray("tokenizer.ggml.tokens", tokens).putFloatArray("tokenizer.ggml.scores", scores)
                .putIntArray("tokenizer.ggml.token_type", types).write(file);
        long best = Long.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            try (GgufFile g = GgufFile.open(file)) {
                String[] back = g.metadata().getStringArray("tokenizer.ggml.tokens");
                assertEquals("tok149999", back[n - 1]);
                assertEquals(-149999f, g.metadata().getFloatArray("tokenizer.ggml.scores")[n - 1]);
            }
            best = Math.min(best, System.nanoTime() - t0);
        }
        assertTrue(best < 1_000_000_000L, "parsing 150k tokens took " + best / 1_000_000 + " ms");
    }

    /**
     * A sparse file of about 2.3 GiB: a 2.25 GiB F32 tensor first, then a Q8_0 tensor whose data
     * lies past 2^31. The header is built by hand and the file extended with setLength, so
     * nothing of that size is written to disk.
     */
    @Test
    void tensorsBeyondTwoGibibytes() throws IOException {
        long bigRows = 576L * 1024;
        long bigBytes = 1024 * 4 * bigRows; // 2.25 GiB
        GgufBytes h = GgufBytes.header(3, 2, 1).kvString("general.name", "sparse")
                .tensor("big", new long[] {1024, bigRows}, GgmlType.F32.id(), 0)
                .tensor("far", new long[] {64}, GgmlType.Q8_0.id(), bigBytes)
                .padTo(32);
        long dataOffset = h.size();
        Path file = h.write(dir, "sparse.gguf");
        float[] x = new float[64];
        for (int i = 0; i < 64; i++) {
            x[i] = i - 31.5f;
        }
        byte[] farBytes = new byte[68];
        QuantCodec.of(GgmlType.Q8_0).quantizeRow(x, 0, 64, MemorySegment.ofArray(farBytes), 0);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(dataOffset + bigBytes + 68);
            raf.seek(dataOffset + bigBytes);
            raf.write(farBytes);
        }
        try (GgufFile g = GgufFile.open(file)) {
            assertTrue(g.fileSize() > (1L << 31));
            Tensor far = g.tensor("far");
            assertEquals(dataOffset + bigBytes, far.data().address() - g.segment().address());
            float[] y = new float[64];
            float[] expected = new float[64];
            QuantCodec.of(GgmlType.Q8_0).dequantizeRow(far.data(), 0, y, 0, 64);
            QuantCodec.of(GgmlType.Q8_0).dequantizeRow(MemorySegment.ofArray(farBytes), 0, expected, 0, 64);
            assertArrayEquals(expected, y);
            Tensor big = g.tensor("big");
            assertEquals(bigBytes, big.data().byteSize());
            assertEquals(0, big.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, bigBytes - 1));
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
