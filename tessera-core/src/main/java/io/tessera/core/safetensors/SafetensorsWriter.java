package io.tessera.core.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.quant.Float8;
import io.tessera.core.quant.Int8Rows;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file of F32, F16, BF16 or F8_E4M3 tensors, encoding each row as it is produced so
 * that a large checkpoint streams to disk. The header is padded with spaces to a multiple of 8
 * bytes, as Hugging Face's writer does, so the data section starts aligned. The file is written
 * as {@code <name>.partial} and moved into place when complete.
 */
public final class SafetensorsWriter {

    /** Produces row {@code row} of a tensor into {@code dst}. */
    @FunctionalInterface
    public interface Rows {
        void row(long row, float[] dst) throws IOException;
    }

    private record Entry(String name, SafetensorsDtype dtype, long[] shape, Rows rows) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Entry> entries = new ArrayList<>();

    /**
     * Adds a tensor of {@code shape} (row-major, outermost first); rows are its last dimension. An
     * F8_E4M3 tensor's rows are given already divided by their scales, and each value is rounded to
     * E4M3 ({@link Float8#floatToE4m3}: nearest even, saturating at ±448). An I8 tensor's rows are
     * likewise given divided by their scales, each value rounded to the nearest integer (ties to
     * even) and clamped to ±127 ({@link Int8Rows#code}).
     */
    public void add(String name, SafetensorsDtype dtype, long[] shape, Rows rows) {
        if (dtype != SafetensorsDtype.F32 && dtype != SafetensorsDtype.F16 && dtype != SafetensorsDtype.BF16
                && dtype != SafetensorsDtype.F8_E4M3 && dtype != SafetensorsDtype.I8) {
            throw new IllegalArgumentException("tensor '" + name + "': writing " + dtype + " is not supported");
        }
        entries.add(new Entry(name, dtype, shape.clone(), rows));
    }

    public void write(Path out) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Entry e : entries) {
            long bytes = e.dtype.bytes();
            for (long d : e.shape) {
                bytes *= d;
            }
            // an ordered entry, so the same tensors always give the same bytes
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", e.dtype.name());
            entry.put("shape", e.shape);
            entry.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(e.name, entry);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(ch, head.flip());
            for (Entry e : entries) {
                int rowLength = Math.toIntExact(e.shape[e.shape.length - 1]);
                long rows = 1;
                for (int i = 0; i < e.shape.length - 1; i++) {
                    rows *= e.shape[i];
                }
                boolean fp8 = e.dtype == SafetensorsDtype.F8_E4M3;
                boolean int8 = e.dtype == SafetensorsDtype.I8;
                QuantCodec codec = fp8 || int8 ? null : QuantCodec.of(GgmlType.valueOf(e.dtype.name()));
                float[] values = new float[rowLength];
                byte[] bytes = new byte[rowLength * e.dtype.bytes()];
                MemorySegment seg = MemorySegment.ofArray(bytes);
                for (long r = 0; r < rows; r++) {
                    e.rows.row(r, values);
                    if (fp8) {
                        for (int i = 0; i < rowLength; i++) {
                            bytes[i] = Float8.floatToE4m3(values[i]);
                        }
                    } else if (int8) {
                        for (int i = 0; i < rowLength; i++) {
                            bytes[i] = Int8Rows.code(values[i], 1f);
                        }
                    } else {
                        codec.quantizeRow(values, 0, rowLength, seg, 0);
                    }
                    writeFully(ch, ByteBuffer.wrap(bytes));
                }
            }
        }
        Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
