package io.tessera.core.gguf;

import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a GGUF version 3 file: metadata in insertion order, then tensors, each quantized row by
 * row from a {@link RowSource} (or copied from pre-encoded bytes), so a multi-GiB model streams
 * through a small buffer. The file is written under a temporary name and moved into place when
 * complete, so a failed write never leaves a file that looks valid.
 */
public final class GgufWriter {

    private static final String ALIGNMENT_KEY = "general.alignment";

    private final LinkedHashMap<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();
    private Progress progress = Progress.NONE;

    /** Told after each tensor is written, so that a long write can report how far it got. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, count, name, bytesDone, bytesTotal) -> { };

        /**
         * @param done tensors written so far (1 .. count)
         * @param name the tensor just written
         * @param bytesDone tensor data bytes written so far, of {@code bytesTotal}
         */
        void tensorWritten(int done, int count, String name, long bytesDone, long bytesTotal);
    }

    private record PendingTensor(String name, GgmlType type, long[] dims, RowSource rows, MemorySegment raw) {
        long rowCount() {
            long n = 1;
            for (int i = 1; i < dims.length; i++) {
                n = Math.multiplyExact(n, dims[i]);
            }
            return n;
        }

        long byteSize() {
            return type.bytesFor(Math.multiplyExact(rowCount(), dims[0]));
        }
    }

    // ---- metadata: typed puts; a key put again keeps its place and takes the new value

    public GgufWriter putUInt8(String key, int value) {
        checkRange(key, value, 0, 0xFF);
        return put(key, GgufValueType.UINT8, (long) value);
    }

    public GgufWriter putInt8(String key, int value) {
        checkRange(key, value, Byte.MIN_VALUE, Byte.MAX_VALUE);
        return put(key, GgufValueType.INT8, (long) value);
    }

    public GgufWriter putUInt16(String key, int value) {
        checkRange(key, value, 0, 0xFFFF);
        return put(key, GgufValueType.UINT16, (long) value);
    }

    public GgufWriter putInt16(String key, int value) {
        checkRange(key, value, Short.MIN_VALUE, Short.MAX_VALUE);
        return put(key, GgufValueType.INT16, (long) value);
    }

    public GgufWriter putUInt32(String key, long value) {
        checkRange(key, value, 0, 0xFFFF_FFFFL);
        return put(key, GgufValueType.UINT32, value);
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, (long) value);
    }

    /** The raw 64 bits; values above 2^63 - 1 are passed as negative longs. */
    public GgufWriter putUInt64(String key, long value) {
        return put(key, GgufValueType.UINT64, value);
    }

    public GgufWriter putInt64(String key, long value) {
        return put(key, GgufValueType.INT64, value);
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    public GgufWriter putFloat64(String key, double value) {
        return put(key, GgufValueType.FLOAT64, value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, Objects.requireNonNull(value, key));
    }

    public GgufWriter putArray(String key, GgufArray value) {
        return put(key, GgufValueType.ARRAY, Objects.requireNonNull(value, key));
    }

    public GgufWriter putStringArray(String key, String... values) {
        return putArray(key, GgufArray.ofStrings(values));
    }

    public GgufWriter putFloatArray(String key, float... values) {
        return putArray(key, GgufArray.ofFloat32(values));
    }

    public GgufWriter putIntArray(String key, int... values) {
        return putArray(key, GgufArray.ofInt32(values));
    }

    /** Copies every key of another file's metadata, with its type (e.g. when re-quantizing a model). */
    public GgufWriter putAll(GgufMetadata other) {
        other.entries().forEach((k, v) -> put(k, v.type(), v.value()));
        return this;
    }

    /** Copies the keys of another file's metadata that start with {@code prefix}, with their types. */
    public GgufWriter putAllStartingWith(GgufMetadata other, String prefix) {
        other.entries().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                put(k, v.type(), v.value());
            }
        });
        return this;
    }

    /** Drops a key (e.g. when rewriting a file without it); absent keys are ignored. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Alignment of tensor data (a power of two), stored as {@code general.alignment}; 32 when unset. */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        return putUInt32(ALIGNMENT_KEY, alignment);
    }

    private GgufWriter put(String key, GgufValueType type, Object value) {
        Objects.requireNonNull(key, "key");
        metadata.put(key, new GgufValue(type, value));
        return this;
    }

    private static void checkRange(String key, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException("key '" + key + "': " + value + " is outside " + min + ".." + max);
        }
    }

    /** Reports each tensor written to {@code listener} (none by default). */
    public GgufWriter progress(Progress listener) {
        this.progress = Objects.requireNonNull(listener, "listener");
        return this;
    }

    // ---- tensors

    /** A tensor quantized to {@code type} on write, row by row. {@code dims} in GGML order. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, RowSource rows) {
        QuantCodec.of(type); // fails early for a type without a codec
        checkTensor(name, type, dims);
        if (dims[0] > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor '" + name + "': rows of " + dims[0] + " values are too long");
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), Objects.requireNonNull(rows, "rows"), null));
        return this;
    }

    /** A tensor whose bytes are already encoded in {@code type}'s layout. */
    public GgufWriter addRawTensor(String name, GgmlType type, long[] dims, MemorySegment bytes) {
        checkTensor(name, type, dims);
        PendingTensor t = new PendingTensor(name, type, dims.clone(), null, bytes);
        if (bytes.byteSize() != t.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + type + " " + Arrays.toString(dims)
                    + " takes " + t.byteSize() + " bytes, got " + bytes.byteSize());
        }
        tensors.add(t);
        return this;
    }

    /**
     * Refuses a type GGUF does not define: there is no FP8 tensor type in GGUF, and a file naming
     * an id of Tessera's own would be misread by llama.cpp (as another type, or refused).
     */
    public static void checkInGguf(GgmlType type, String what) {
        if (!type.inGguf()) {
            throw new IllegalArgumentException(what + ": GGUF has no " + type + " tensor type, and llama.cpp "
                    + "would misread a file that claimed one; write " + type + " weights as a Hugging Face "
                    + "safetensors directory instead (convert --type " + type + " --out DIR)");
        }
    }

    private void checkTensor(String name, GgmlType type, long[] dims) {
        Objects.requireNonNull(name, "name");
        checkInGguf(type, "tensor '" + name + "'");
        if (dims.length < 1 || dims.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "': " + dims.length + " dimensions, expected 1 to "
                    + GgufParser.MAX_DIMS);
        }
        long n = 1;
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "': dimensions must be positive: "
                        + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, d);
        }
        type.bytesFor(n);
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': row length " + dims[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
    }

    // ---- writing

    public void write(Path path) throws IOException {
        int alignment = alignment();
        long[] offsets = new long[tensors.size()];
        long dataSize = 0;
        for (int i = 0; i < tensors.size(); i++) {
            offsets[i] = GgufParser.alignUp(dataSize, alignment);
            dataSize = offsets[i] + tensors.get(i).byteSize();
        }
        Path tmp = path.resolveSibling(path.getFileName() + ".partial");
        boolean done = false;
        try {
            writeTo(tmp, alignment, offsets);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
        try {
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private void writeTo(Path tmp, int alignment, long[] offsets) throws IOException {
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING); Sink out = new Sink(channel)) {
            out.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
            out.u32(3);
            out.u64(tensors.size());
            out.u64(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                out.string(e.getKey());
                out.u32(e.getValue().type().id());
                writeValue(out, e.getValue().type(), e.getValue().value());
            }
            for (int i = 0; i < tensors.size(); i++) {
                PendingTensor t = tensors.get(i);
                out.string(t.name());
                out.u32(t.dims().length);
                for (long d : t.dims()) {
                    out.u64(d);
                }
                out.u32(t.type().id());
                out.u64(offsets[i]);
            }
            long dataStart = GgufParser.alignUp(out.position(), alignment);
            long total = tensors.stream().mapToLong(PendingTensor::byteSize).sum();
            long written = 0;
            for (int i = 0; i < tensors.size(); i++) {
                out.zerosTo(dataStart + offsets[i]);
                writeTensor(out, tensors.get(i));
                written += tensors.get(i).byteSize();
                progress.tensorWritten(i + 1, tensors.size(), tensors.get(i).name(), written, total);
            }
            out.zerosTo(GgufParser.alignUp(out.position(), alignment));
        }
    }

    private int alignment() {
        GgufValue a = metadata.get(ALIGNMENT_KEY);
        if (a == null) {
            return GgufParser.DEFAULT_ALIGNMENT;
        }
        long v = a.value() instanceof Long l ? l : -1;
        if (v <= 0 || v > 1 << 30 || Long.bitCount(v) != 1) {
            throw new IllegalStateException(ALIGNMENT_KEY + " must be an integer power of two, is " + a.value());
        }
        return (int) v;
    }

    private static void writeTensor(Sink out, PendingTensor t) throws IOException {
        if (t.raw() != null) {
            out.segment(t.raw());
            return;
        }
        QuantCodec codec = QuantCodec.of(t.type());
        int rowLength = (int) t.dims()[0];
        float[] row = new float[rowLength];
        byte[] encoded = new byte[(int) t.type().bytesFor(rowLength)];
        MemorySegment encodedSegment = MemorySegment.ofArray(encoded);
        long rows = t.rowCount();
        for (long r = 0; r < rows; r++) {
            t.rows().row(r, row);
            codec.quantizeRow(row, 0, rowLength, encodedSegment, 0);
            out.bytes(encoded);
        }
    }

    private static void writeValue(Sink out, GgufValueType type, Object value) throws IOException {
        switch (type) {
            case UINT8, INT8, BOOL -> out.u8(value instanceof Boolean b ? (b ? 1 : 0) : (int) (long) (Long) value);
            case UINT16, INT16 -> out.u16((int) (long) (Long) value);
            case UINT32, INT32 -> out.u32((int) (long) (Long) value);
            case UINT64, INT64 -> out.u64((Long) value);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) value));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) value));
            case STRING -> out.string((String) value);
            case ARRAY -> writeArray(out, (GgufArray) value);
        }
    }

    private static void writeArray(Sink out, GgufArray array) throws IOException {
        out.u32(array.elementType().id());
        out.u64(array.length());
        switch (array.raw()) {
            case byte[] a -> out.bytes(a);
            case boolean[] a -> {
                for (boolean b : a) {
                    out.u8(b ? 1 : 0);
                }
            }
            case short[] a -> {
                for (short v : a) {
                    out.u16(v);
                }
            }
            case int[] a -> {
                for (int v : a) {
                    out.u32(v);
                }
            }
            case long[] a -> {
                for (long v : a) {
                    out.u64(v);
                }
            }
            case float[] a -> {
                for (float v : a) {
                    out.u32(Float.floatToRawIntBits(v));
                }
            }
            case double[] a -> {
                for (double v : a) {
                    out.u64(Double.doubleToRawLongBits(v));
                }
            }
            case String[] a -> {
                for (String s : a) {
                    out.string(s);
                }
            }
            case GgufArray[] a -> {
                for (GgufArray nested : a) {
                    writeArray(out, nested);
                }
            }
            default -> throw new IllegalStateException("unexpected array storage " + array.raw().getClass());
        }
    }

    /** Little-endian buffered output over a channel, tracking the file position as a long. */
    private static final class Sink implements AutoCloseable {
        private static final int CAPACITY = 1 << 20;
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Sink(FileChannel channel) {
            this.channel = channel;
        }

        long position() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void u16(int v) throws IOException {
            room(2);
            buf.putShort((short) v);
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            int off = 0;
            while (off < b.length) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - off);
                buf.put(b, off, n);
                off += n;
            }
        }

        void segment(MemorySegment s) throws IOException {
            long off = 0;
            MemorySegment staging = MemorySegment.ofBuffer(buf.duplicate().clear()); // from byte 0
            while (off < s.byteSize()) {
                room(1);
                int n = (int) Math.min(buf.remaining(), s.byteSize() - off);
                MemorySegment.copy(s, off, staging, buf.position(), n);
                buf.position(buf.position() + n);
                off += n;
            }
        }

        void zerosTo(long target) throws IOException {
            while (position() < target) {
                u8(0);
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                flushed += channel.write(buf);
            }
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
