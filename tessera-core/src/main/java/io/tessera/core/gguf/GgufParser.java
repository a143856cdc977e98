package io.tessera.core.gguf;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF header (magic, version, counts, metadata, tensor infos) from the mapped file and
 * validates the tensor layout. Every read is bounds-checked against the file size first, and every
 * count is checked against the bytes that remain before anything is allocated for it, so a
 * corrupt file yields a {@link ModelFormatException} rather than a huge allocation or a crash.
 * Touches only the header pages, never tensor data.
 */
final class GgufParser {

    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_DEPTH = 8;
    /** Magic "GGUF" as the first 4 bytes. */
    private static final int MAGIC = 0x46554747;
    /** Smallest tensor info: empty name (8), n_dims (4), one dim (8), type (4), offset (8). */
    private static final long MIN_TENSOR_INFO_BYTES = 32;
    /** Smallest key/value: empty key (8), type (4), one byte of value. */
    private static final long MIN_KV_BYTES = 13;
    private static final int MAX_STRING_BYTES = Integer.MAX_VALUE - 16;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What the parse found. */
    record Header(int version, int alignment, GgufMetadata metadata, List<GgufTensorInfo> tensors, long dataOffset) {
    }

    private final Path file;
    private final MemorySegment seg;
    private final long size;
    private long pos;

    private GgufParser(Path file, MemorySegment seg) {
        this.file = file;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    static Header parse(Path file, MemorySegment seg) throws ModelFormatException {
        return new GgufParser(file, seg).parse();
    }

    private Header parse() throws ModelFormatException {
        if (size < 4 || seg.get(INT, 0) != MAGIC) {
            throw new ModelFormatException(file, "magic", "not a GGUF file: it starts with " + firstBytes()
                    + " instead of 'GGUF'");
        }
        pos = 4;
        int version = u32("version");
        checkVersion(version);
        long tensorCount = u64("tensor count");
        long kvCount = u64("metadata key/value count");
        long left = size - pos;
        if (tensorCount < 0 || tensorCount > left / MIN_TENSOR_INFO_BYTES) {
            throw new ModelFormatException(file, "tensor count", Long.toUnsignedString(tensorCount)
                    + " tensors cannot fit in the " + left + " bytes left in the file");
        }
        if (kvCount < 0 || kvCount > (left - tensorCount * MIN_TENSOR_INFO_BYTES) / MIN_KV_BYTES) {
            throw new ModelFormatException(file, "metadata key/value count", Long.toUnsignedString(kvCount)
                    + " key/value pairs cannot fit in the " + left + " bytes left in the file");
        }

        LinkedHashMap<String, GgufValue> entries = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string("metadata key #" + i);
            String field = GgufMetadata.field(key);
            if (entries.containsKey(key)) {
                throw new ModelFormatException(file, field, "appears twice in the metadata");
            }
            GgufValueType type = valueType(field);
            entries.put(key, new GgufValue(type, value(field, type, 0)));
        }
        GgufMetadata metadata = new GgufMetadata(file, entries);
        int alignment = alignment(metadata);

        List<GgufTensorInfo> tensors = new ArrayList<>((int) Math.min(tensorCount, 1 << 12));
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            GgufTensorInfo t = tensorInfo(i, alignment);
            if (byName.putIfAbsent(t.name(), t) != null) {
                throw new ModelFormatException(file, "tensor '" + t.name() + "'", "appears twice in the tensor list");
            }
            tensors.add(t);
        }
        long dataOffset = alignUp(pos, alignment);
        checkLayout(tensors, dataOffset);
        return new Header(version, alignment, metadata, List.copyOf(tensors), dataOffset);
    }

    private void checkVersion(int version) throws ModelFormatException {
        if (version == 2 || version == 3) {
            return;
        }
        if (version == 1) {
            throw new ModelFormatException(file, "version", "GGUF version 1 (the 2023 draft with 32-bit counts) is "
                    + "not supported; convert the model again with a current tool (versions 2 and 3 are read)");
        }
        int swapped = Integer.reverseBytes(version);
        if (swapped == 2 || swapped == 3) {
            throw new ModelFormatException(file, "version", "this is a big-endian GGUF file, which is not supported"
                    + " (Tessera reads little-endian files)");
        }
        throw new ModelFormatException(file, "version", "unsupported GGUF version " + Integer.toUnsignedString(version)
                + " (Tessera reads versions 2 and 3)");
    }

    private int alignment(GgufMetadata metadata) throws ModelFormatException {
        String key = "general.alignment";
        if (!metadata.contains(key)) {
            return DEFAULT_ALIGNMENT;
        }
        long a;
        try {
            a = metadata.getLong(key);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(file, GgufMetadata.field(key), e.reason());
        }
        if (a <= 0 || a > 1 << 30 || Long.bitCount(a) != 1) {
            throw new ModelFormatException(file, GgufMetadata.field(key), "alignment " + a
                    + " is not a power of two between 1 and 2^30");
        }
        return (int) a;
    }

    private GgufTensorInfo tensorInfo(long index, int alignment) throws ModelFormatException {
        String name = string("tensor #" + index + " name");
        String field = "tensor '" + name + "'";
        int nDims = u32(field + " n_dims");
        if (nDims < 1 || nDims > MAX_DIMS) {
            throw new ModelFormatException(file, field + " n_dims", Integer.toUnsignedString(nDims)
                    + " dimensions, expected 1 to " + MAX_DIMS);
        }
        long[] dims = new long[nDims];
        for (int d = 0; d < nDims; d++) {
            dims[d] = u64(field + " dims");
            if (dims[d] <= 0) {
                throw new ModelFormatException(file, field + " dims", "dimension " + d + " is "
                        + Long.toUnsignedString(dims[d]) + ", expected a positive size");
            }
        }
        int typeId = u32(field + " type");
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) {
            throw new ModelFormatException(file, field + " type", "unknown tensor type id "
                    + Integer.toUnsignedString(typeId));
        }
        long elements = 1;
        for (long d : dims) {
            elements = multiplyOrMinusOne(elements, d);
            if (elements < 0) {
                throw new ModelFormatException(file, field + " dims", Arrays.toString(dims)
                        + " has more elements than fit in 64 bits");
            }
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new ModelFormatException(file, field + " dims", "row length " + dims[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        if (multiplyOrMinusOne(elements / type.blockSize(), type.typeSize()) < 0) {
            throw new ModelFormatException(file, field + " dims", Arrays.toString(dims)
                    + " takes more bytes than fit in 64 bits");
        }
        long offset = u64(field + " offset");
        if (offset < 0 || offset > size) {
            throw new ModelFormatException(file, field + " offset", "data offset " + Long.toUnsignedString(offset)
                    + " lies past the end of the file (" + size + " bytes)");
        }
        if (offset % alignment != 0) {
            throw new ModelFormatException(file, field + " offset", "data offset " + offset
                    + " is not a multiple of the alignment " + alignment);
        }
        return new GgufTensorInfo(name, type, dims, offset);
    }

    /** Each tensor's bytes lie inside the file and no two overlap. */
    private void checkLayout(List<GgufTensorInfo> tensors, long dataOffset) throws ModelFormatException {
        GgufTensorInfo[] sorted = tensors.toArray(GgufTensorInfo[]::new);
        Arrays.sort(sorted, (a, b) -> Long.compare(a.offset(), b.offset()));
        GgufTensorInfo previous = null;
        for (GgufTensorInfo t : sorted) {
            long bytes = t.byteSize();
            long start = dataOffset + t.offset(); // both <= size, no overflow
            if (start > size || bytes > size - start) {
                throw new ModelFormatException(file, "tensor '" + t.name() + "' offset", start + " + " + bytes
                        + " bytes lies past the end of the file (" + size + " bytes)");
            }
            if (previous != null && previous.offset() + previous.byteSize() > t.offset()) {
                long prevStart = dataOffset + previous.offset();
                throw new ModelFormatException(file, "tensor '" + t.name() + "' offset", "its data at " + start
                        + " overlaps tensor '" + previous.name() + "' (bytes " + prevStart + " to "
                        + (prevStart + previous.byteSize()) + ")");
            }
            previous = t;
        }
    }

    // ---- values

    private GgufValueType valueType(String field) throws ModelFormatException {
        int id = u32(field + " type");
        GgufValueType type = GgufValueType.byId(id);
        if (type == null) {
            throw new ModelFormatException(file, field + " type", "unknown value type " + Integer.toUnsignedString(id));
        }
        return type;
    }

    private Object value(String field, GgufValueType type, int depth) throws ModelFormatException {
        return switch (type) {
            case UINT8 -> (long) (u8(field) & 0xFF);
            case INT8 -> (long) u8(field);
            case UINT16 -> {
                need(2, field);
                long v = seg.get(SHORT, pos) & 0xFFFFL;
                pos += 2;
                yield v;
            }
            case INT16 -> {
                need(2, field);
                long v = seg.get(SHORT, pos);
                pos += 2;
                yield v;
            }
            case UINT32 -> u32(field) & 0xFFFF_FFFFL;
            case INT32 -> (long) u32(field);
            case UINT64, INT64 -> u64(field);
            case FLOAT32 -> Float.intBitsToFloat(u32(field));
            case FLOAT64 -> Double.longBitsToDouble(u64(field));
            case BOOL -> u8(field) != 0;
            case STRING -> string(field);
            case ARRAY -> array(field, depth + 1);
        };
    }

    private GgufArray array(String field, int depth) throws ModelFormatException {
        if (depth > MAX_ARRAY_DEPTH) {
            throw new ModelFormatException(file, field, "arrays nested deeper than " + MAX_ARRAY_DEPTH + " levels");
        }
        GgufValueType type = valueType(field + " array element");
        long length = u64(field + " array length");
        long left = size - pos;
        if (length < 0 || length > left / type.minBytes() || length > MAX_STRING_BYTES) {
            throw new ModelFormatException(file, field, "array length " + Long.toUnsignedString(length) + " of "
                    + type.name().toLowerCase() + " cannot fit in the " + left + " bytes left in the file");
        }
        int n = (int) length;
        Object values = switch (type) {
            case UINT8, INT8 -> {
                byte[] a = new byte[n];
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, a, 0, n);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = seg.get(ValueLayout.JAVA_BYTE, pos + i) != 0;
                }
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[n];
                MemorySegment.copy(seg, SHORT, pos, a, 0, n);
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[n];
                MemorySegment.copy(seg, INT, pos, a, 0, n);
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[n];
                MemorySegment.copy(seg, LONG, pos, a, 0, n);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                MemorySegment.copy(seg, FLOAT, pos, a, 0, n);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                MemorySegment.copy(seg, DOUBLE, pos, a, 0, n);
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) {
                    a[i] = arrayString(field, i);
                }
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) {
                    a[i] = array(field, depth + 1);
                }
                yield a;
            }
        };
        if (type != GgufValueType.STRING && type != GgufValueType.ARRAY) {
            pos += length * type.minBytes(); // fixed-size elements, checked against the file above
        }
        return GgufArray.wrap(type, values);
    }

    // ---- primitives, each checked against the end of the file

    private void need(long bytes, String field) throws ModelFormatException {
        if (bytes > size - pos) {
            throw new ModelFormatException(file, field, "the file is truncated: " + bytes + " bytes are needed at offset "
                    + pos + " but the file ends at " + size);
        }
    }

    private byte u8(String field) throws ModelFormatException {
        need(1, field);
        return seg.get(ValueLayout.JAVA_BYTE, pos++);
    }

    private int u32(String field) throws ModelFormatException {
        need(4, field);
        int v = seg.get(INT, pos);
        pos += 4;
        return v;
    }

    private long u64(String field) throws ModelFormatException {
        need(8, field);
        long v = seg.get(LONG, pos);
        pos += 8;
        return v;
    }

    private String string(String field) throws ModelFormatException {
        long length = u64(field);
        checkStringLength(length, field, -1);
        return utf8(length);
    }

    /** A string element of an array; the field text is only built when something is wrong. */
    private String arrayString(String field, int index) throws ModelFormatException {
        if (8 > size - pos) {
            need(8, field + " element " + index);
        }
        long length = seg.get(LONG, pos);
        pos += 8;
        checkStringLength(length, field, index);
        return utf8(length);
    }

    private void checkStringLength(long length, String field, int index) throws ModelFormatException {
        if (length < 0 || length > size - pos || length > MAX_STRING_BYTES) {
            throw new ModelFormatException(file, index < 0 ? field : field + " element " + index, "string length "
                    + Long.toUnsignedString(length) + " runs past the end of the file (" + (size - pos)
                    + " bytes left at offset " + pos + ")");
        }
    }

    private String utf8(long length) {
        if (length == 0) {
            return "";
        }
        byte[] bytes = new byte[(int) length];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
        pos += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private String firstBytes() {
        StringBuilder sb = new StringBuilder();
        for (long i = 0; i < Math.min(4, size); i++) {
            sb.append(String.format("%02x ", seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF));
        }
        return size == 0 ? "nothing (the file is empty)" : "bytes " + sb.toString().trim();
    }

    static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    /** a * b for non-negative a and b, or -1 on overflow. */
    private static long multiplyOrMinusOne(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi != 0 || lo < 0 ? -1 : lo;
    }
}
