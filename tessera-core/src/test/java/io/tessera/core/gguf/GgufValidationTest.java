package io.tessera.core.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each check of the reader, with a file that fails it and the message it must give. */
class GgufValidationTest {

    private static final int F32 = GgmlType.F32.id();

    @TempDir
    Path dir;

    private ModelFormatException rejected(GgufBytes bytes, String... expectedParts) throws IOException {
        Path file = bytes.write(dir, "bad.gguf");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> {
            try (GgufFile g = GgufFile.open(file)) {
                for (GgufTensorInfo t : g.tensorInfos()) {
                    g.tensor(t.name());
                }
            }
        });
        assertTrue(e.getMessage().startsWith("bad.gguf: "), e.getMessage());
        for (String part : expectedParts) {
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should contain '" + part + "'");
        }
        assertEquals(file, e.file());
        return e;
    }

    /** One F32 tensor of 8 values at offset 0, padded and followed by its data. */
    private static GgufBytes oneTensor(String name, long[] dims, int type, long offset, int dataBytes) {
        return GgufBytes.header(3, 1, 0).tensor(name, dims, type, offset).padTo(32).zeros(dataBytes);
    }

    @Test
    void validMinimalFileOpens() throws IOException {
        Path file = oneTensor("x", new long[] {8}, F32, 0, 32).write(dir, "ok.gguf");
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(32, g.tensor("x").data().byteSize());
            assertEquals(64, g.dataOffset());
            assertEquals(3, g.version());
        }
        Path v2 = GgufBytes.header(2, 0, 1).kvU32("general.alignment", 16).write(dir, "v2.gguf");
        try (GgufFile g = GgufFile.open(v2)) {
            assertEquals(2, g.version());
            assertEquals(16, g.alignment());
            assertEquals(0, g.tensorInfos().size());
        }
    }

    @Test
    void wrongMagic() throws IOException {
        rejected(new GgufBytes().raw("GGML".getBytes()).u32(3).u64(0).u64(0), "magic", "not a GGUF file",
                "47 47 4d 4c");
        rejected(new GgufBytes().u8('G'), "magic");
        rejected(new GgufBytes(), "empty");
    }

    @Test
    void versions() throws IOException {
        rejected(GgufBytes.header(1, 0, 0), "version", "version 1", "not supported");
        rejected(GgufBytes.header(4, 0, 0), "version", "unsupported GGUF version 4");
        rejected(GgufBytes.header(Integer.reverseBytes(3), 0, 0), "big-endian");
    }

    @Test
    void absurdCounts() throws IOException {
        rejected(GgufBytes.header(3, 1L << 40, 0), "tensor count", "1099511627776 tensors cannot fit");
        rejected(GgufBytes.header(3, -1, 0), "tensor count", "18446744073709551615");
        rejected(GgufBytes.header(3, 0, 1L << 40), "metadata key/value count", "cannot fit");
    }

    @Test
    void strings() throws IOException {
        rejected(GgufBytes.header(3, 0, 1).u64(1000).raw("abc".getBytes()).zeros(8), "metadata key #0",
                "string length 1000 runs past the end of the file");
        rejected(GgufBytes.header(3, 0, 1).u64(-5).raw("abcdefgh".getBytes()), "string length 18446744073709551611");
        rejected(GgufBytes.header(3, 0, 1).str("k").u32(GgufValueType.STRING.id()).u64(1L << 62).zeros(16),
                "key 'k'", "string length");
        // A string element of an array names its index.
        rejected(GgufBytes.header(3, 0, 1).str("tokens").u32(GgufValueType.ARRAY.id())
                .u32(GgufValueType.STRING.id()).u64(2).str("a").u64(999).zeros(8), "key 'tokens' element 1",
                "string length 999");
    }

    @Test
    void arrays() throws IOException {
        rejected(GgufBytes.header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.UINT32.id())
                .u64(1L << 61).zeros(16), "key 'a'", "array length 2305843009213693952 of uint32 cannot fit");
        rejected(GgufBytes.header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.STRING.id())
                .u64(-1).zeros(16), "key 'a'", "array length");
        rejected(GgufBytes.header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(77).u64(1).zeros(8),
                "key 'a' array element type", "unknown value type 77");
        // Nine levels of arrays, one inside the other.
        GgufBytes deep = GgufBytes.header(3, 0, 1).str("deep").u32(GgufValueType.ARRAY.id());
        for (int i = 0; i < 9; i++) {
            deep.u32(GgufValueType.ARRAY.id()).u64(1);
        }
        deep.u32(GgufValueType.INT32.id()).u64(0);
        rejected(deep, "key 'deep'", "nested deeper than 8");
    }

    @Test
    void valueTypes() throws IOException {
        rejected(GgufBytes.header(3, 0, 1).str("k").u32(13).u32(0), "key 'k' type", "unknown value type 13");
        rejected(GgufBytes.header(3, 0, 2).kvU32("k", 1).kvU32("k", 2), "key 'k'", "appears twice");
        rejected(GgufBytes.header(3, 0, 1).kvU32("general.alignment", 48), "general.alignment", "not a power of two");
        rejected(GgufBytes.header(3, 0, 1).kvString("general.alignment", "32"), "general.alignment",
                "is a string, expected an integer");
    }

    @Test
    void tensorTypes() throws IOException {
        rejected(oneTensor("x", new long[] {8}, 99, 0, 32), "tensor 'x' type", "unknown tensor type id 99");
        ModelFormatException e = rejected(oneTensor("x", new long[] {256}, GgmlType.Q5_K.id(), 0, 176));
        assertEquals("bad.gguf: tensor 'x' type: has type Q5_K, which Tessera does not support "
                + "(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)", e.getMessage());
        // The file still opens: tools can list a tensor they cannot compute with.
        try (GgufFile g = GgufFile.open(dir.resolve("bad.gguf"))) {
            assertEquals(GgmlType.Q5_K, g.tensorInfos().get(0).type());
        }
    }

    @Test
    void dimensions() throws IOException {
        rejected(oneTensor("x", new long[0], F32, 0, 32), "tensor 'x' n_dims", "0 dimensions, expected 1 to 4");
        rejected(oneTensor("x", new long[] {1, 1, 1, 1, 1}, F32, 0, 32), "5 dimensions");
        rejected(oneTensor("x", new long[] {8, 0}, F32, 0, 32), "tensor 'x' dims", "dimension 1 is 0");
        rejected(oneTensor("x", new long[] {-8}, F32, 0, 32), "dimension 0 is 18446744073709551608");
        rejected(oneTensor("x", new long[] {1L << 32, 1L << 32}, F32, 0, 32), "tensor 'x' dims",
                "more elements than fit in 64 bits");
        rejected(oneTensor("x", new long[] {1L << 62}, F32, 0, 32), "more bytes than fit in 64 bits");
        rejected(oneTensor("x", new long[] {48}, GgmlType.Q8_0.id(), 0, 64), "tensor 'x' dims",
                "row length 48 is not a multiple of the Q8_0 block size 32");
    }

    @Test
    void offsets() throws IOException {
        rejected(oneTensor("x", new long[] {8}, F32, 16, 64), "tensor 'x' offset",
                "data offset 16 is not a multiple of the alignment 32");
        ModelFormatException e = rejected(oneTensor("blk.0.attn_q.weight", new long[] {8}, F32, 32, 32));
        assertEquals("bad.gguf: tensor 'blk.0.attn_q.weight' offset: 128 + 32 bytes lies past the end of the file "
                + "(128 bytes)", e.getMessage());
        rejected(oneTensor("x", new long[] {8}, F32, 1L << 40, 32), "tensor 'x' offset", "lies past the end");
        rejected(oneTensor("x", new long[] {8}, F32, -32, 32), "tensor 'x' offset", "lies past the end");
        // Two tensors of 64 bytes, the second starting 32 bytes into the first.
        GgufBytes overlap = GgufBytes.header(3, 2, 0).tensor("a", new long[] {16}, F32, 0)
                .tensor("b", new long[] {8}, F32, 32).padTo(32).zeros(64);
        rejected(overlap, "tensor 'b' offset", "overlaps tensor 'a'");
        GgufBytes dup = GgufBytes.header(3, 2, 0).tensor("a", new long[] {8}, F32, 0)
                .tensor("a", new long[] {8}, F32, 32).padTo(32).zeros(64);
        rejected(dup, "tensor 'a'", "appears twice");
    }

    @Test
    void truncation() throws IOException {
        byte[] full = GgufBytes.header(3, 1, 1).kvString("general.name", "tiny").tensor("x", new long[] {8}, F32, 0)
                .padTo(32).zeros(32).bytes();
        for (int cut : new int[] {5, 12, 30, 40, 60, full.length - 33, full.length - 1}) {
            Path file = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(full, cut));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> {
                try (GgufFile g = GgufFile.open(file)) {
                    g.tensor("x");
                }
            }, "cut at " + cut);
            assertTrue(e.getMessage().startsWith("cut.gguf: "), e.getMessage());
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("past the end")
                    || e.getMessage().contains("cannot fit"), e.getMessage());
        }
    }
}
