package io.tessera.core.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    /** Writes a safetensors file with the given header and data bytes. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void readsHeaderAndMapsData() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            data.putFloat(i * 0.5f);
        }
        Path f = write(dir.resolve("m.safetensors"),
                "{\"__metadata__\":{\"format\":\"pt\"},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                data.array());
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals("pt", sf.metadata().get("format"));
            assertEquals(2, sf.tensors().size());
            SafetensorsTensorInfo a = sf.tensor("a");
            assertEquals(SafetensorsDtype.F32, a.dtype());
            assertArrayEquals(new long[] {2, 2}, a.shape());
            assertEquals(4, a.elementCount());
            MemorySegment b = sf.tensorData("b");
            assertEquals(8, b.byteSize());
            assertEquals(2.0f, b.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
            assertEquals(2.5f, b.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4));
        }
    }

    @Test
    void rejectsHeaderLongerThanFile() throws IOException {
        Path f = dir.resolve("bad.safetensors");
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putInt(0);
        Files.write(f, b.array());
        var e = assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void rejectsShortFileAndBadJson() throws IOException {
        Path tiny = Files.write(dir.resolve("tiny"), new byte[3]);
        assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(tiny));
        Path f = write(dir.resolve("j.safetensors"), "{not json", new byte[0]);
        var e = assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void rejectsOutOfBoundsSizeMismatchOverlapAndUnknownDtype() throws IOException {
        Path oob = write(dir.resolve("o.safetensors"),
                "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", new byte[4]);
        assertTrue(assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(oob))
                .getMessage().contains("outside the data section"));
        Path size = write(dir.resolve("s.safetensors"),
                "{\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertTrue(assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(size))
                .getMessage().contains("expected 6"));
        Path overlap = write(dir.resolve("v.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", new byte[8]);
        assertTrue(assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(overlap))
                .getMessage().contains("overlap"));
        Path dtype = write(dir.resolve("d.safetensors"),
                "{\"a\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]);
        assertTrue(assertThrows(SafetensorsFile.SafetensorsException.class, () -> SafetensorsFile.open(dtype))
                .getMessage().contains("unknown safetensors dtype 'Q4'"));
    }
}
