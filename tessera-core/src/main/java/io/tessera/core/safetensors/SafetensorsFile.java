package io.tessera.core.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header describing each tensor
 * (dtype, shape, byte range), then the data section. {@link #open(Path)} reads and validates the
 * header only; {@link #data()} memory-maps the data section on first use, and {@link #tensorData}
 * slices one tensor out of it without copying.
 *
 * <p>Validation is strict: a header length past the end of the file, malformed JSON, an unknown
 * dtype, a byte range outside the data section, a range whose size does not match the shape, or
 * two overlapping tensors all fail with a message naming the file and the tensor.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Headers larger than this are refused (the reference implementation's limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final long fileSize;
    private final long dataOffset;
    private final Map<String, SafetensorsTensorInfo> tensors;
    private final Map<String, String> metadata;
    private Arena arena;
    private MemorySegment data;

    private SafetensorsFile(Path path, long fileSize, long dataOffset, Map<String, SafetensorsTensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.fileSize = fileSize;
        this.dataOffset = dataOffset;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Reads and validates the header of {@code path}; the data section is not touched. */
    public static SafetensorsFile open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsException(path + ": not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > size - 8) {
                throw new SafetensorsException(path + ": header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in the file (" + size + " bytes)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsException(path + ": header of " + headerLen + " bytes exceeds the "
                        + MAX_HEADER_BYTES + "-byte limit");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8, path);
            String text = new String(header.array(), StandardCharsets.UTF_8);
            return parse(path, size, 8 + headerLen, text);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new SafetensorsException(path + ": unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    static SafetensorsFile parse(Path path, long fileSize, long dataOffset, String headerText) {
        JsonNode root;
        try {
            root = JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(path + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!(root instanceof ObjectNode obj)) {
            throw new SafetensorsException(path + ": header is not a JSON object");
        }
        long dataLen = fileSize - dataOffset;
        Map<String, SafetensorsTensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new SafetensorsException(path + ": __metadata__ is not an object");
                }
                v.fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(name, tensorInfo(path, name, v, dataLen));
        }
        List<SafetensorsTensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(SafetensorsTensorInfo::begin).thenComparingLong(SafetensorsTensorInfo::end));
        for (int i = 1; i < sorted.size(); i++) {
            SafetensorsTensorInfo a = sorted.get(i - 1);
            SafetensorsTensorInfo b = sorted.get(i);
            if (b.begin() < a.end()) {
                throw new SafetensorsException(path + ": tensors '" + a.name() + "' and '" + b.name() + "' overlap");
            }
        }
        return new SafetensorsFile(path, fileSize, dataOffset, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(meta));
    }

    private static SafetensorsTensorInfo tensorInfo(Path path, String name, JsonNode v, long dataLen) {
        String where = path + ": tensor '" + name + "'";
        if (!v.isObject()) {
            throw new SafetensorsException(where + ": entry is not an object");
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) {
            throw new SafetensorsException(where + ": missing dtype");
        }
        if (sh == null || !sh.isArray()) {
            throw new SafetensorsException(where + ": missing shape");
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new SafetensorsException(where + ": data_offsets must be [begin, end]");
        }
        SafetensorsDtype dtype;
        try {
            dtype = SafetensorsDtype.parse(dt.asText());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(where + ": " + e.getMessage(), e);
        }
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new SafetensorsException(where + ": bad dimension " + d);
            }
            shape[i] = d.asLong();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException ex) {
                throw new SafetensorsException(where + ": shape overflows", ex);
            }
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new SafetensorsException(where + ": data_offsets [" + begin + ", " + end
                    + "] outside the data section of " + dataLen + " bytes");
        }
        long expected;
        try {
            expected = Math.multiplyExact(count, (long) dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new SafetensorsException(where + ": shape overflows", ex);
        }
        if (end - begin != expected) {
            throw new SafetensorsException(where + ": " + (end - begin) + " bytes of data for a " + dtype
                    + " tensor of " + count + " elements (expected " + expected + ")");
        }
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    public Path path() {
        return path;
    }

    public long fileSize() {
        return fileSize;
    }

    /** Absolute file offset of the data section (8 + header length). */
    public long dataOffset() {
        return dataOffset;
    }

    /** The tensors in header order. */
    public Map<String, SafetensorsTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor named {@code name}, or an exception naming the file. */
    public SafetensorsTensorInfo tensor(String name) {
        SafetensorsTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafetensorsException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** The free-form string map stored under {@code __metadata__} (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The data section, memory-mapped read-only on first use; valid until {@link #close()}. */
    public synchronized MemorySegment data() throws IOException {
        if (data == null) {
            arena = Arena.ofShared();
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                data = ch.map(FileChannel.MapMode.READ_ONLY, dataOffset, fileSize - dataOffset, arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                arena = null;
                throw e;
            }
        }
        return data;
    }

    /** The bytes of one tensor: a slice of the mapped data section, no copy. */
    public MemorySegment tensorData(String name) throws IOException {
        SafetensorsTensorInfo t = tensor(name);
        return data().asSlice(t.begin(), t.byteSize());
    }

    @Override
    public synchronized void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            data = null;
        }
    }

    /** A malformed or unreadable safetensors file. */
    public static final class SafetensorsException extends IllegalArgumentException {
        public SafetensorsException(String message) {
            super(message);
        }

        public SafetensorsException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
