package io.tessera.core.gguf;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open GGUF model file (versions 2 and 3). The whole file is memory-mapped once; tensors are
 * slices of that mapping, valid until {@link #close()}. Opening parses and validates only the
 * header, so it costs milliseconds whatever the size of the file.
 *
 * <p>Tensors of a type Tessera knows but cannot compute with (e.g. Q5_K) are listed by
 * {@link #tensorInfos()} so that tools can describe the file; {@link #tensor} refuses them with a
 * clear message.
 */
public final class GgufFile implements AutoCloseable {

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final GgufParser.Header header;
    private final Map<String, GgufTensorInfo> byName;
    private boolean closed;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.header = header;
        this.byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : header.tensors()) {
            byName.put(t.name(), t);
        }
    }

    /** Maps and validates the file; a corrupt or unsupported file is a {@link ModelFormatException}. */
    public static GgufFile open(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw new ModelFormatException(path, "magic", "not a GGUF file: the file is empty");
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new GgufFile(path, arena, mapping, GgufParser.parse(path, mapping));
            } catch (IOException | RuntimeException | Error e) {
                arena.close();
                throw e;
            }
        }
    }

    public Path path() {
        return path;
    }

    /** The GGUF version, 2 or 3. */
    public int version() {
        return header.version();
    }

    /** Alignment of tensor data: {@code general.alignment}, default 32. */
    public int alignment() {
        return header.alignment();
    }

    public GgufMetadata metadata() {
        return header.metadata();
    }

    /** Tensors in file order. */
    public List<GgufTensorInfo> tensorInfos() {
        return header.tensors();
    }

    public Optional<GgufTensorInfo> tensorInfo(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public long fileSize() {
        return mapping.byteSize();
    }

    /** File offset where the data section (tensor offset 0) starts. */
    public long dataOffset() {
        return header.dataOffset();
    }

    /** The whole mapped file. */
    public MemorySegment segment() {
        return mapping;
    }

    /** The named tensor, its data a slice of the mapping. */
    public Tensor tensor(String name) throws ModelFormatException {
        GgufTensorInfo info = byName.get(name);
        if (info == null) {
            throw new ModelFormatException(path, "tensor '" + name + "'", "is not in the file");
        }
        return toTensor(info);
    }

    /** The named tensor if the file has it (a missing optional tensor, e.g. a tied output matrix). */
    public Optional<Tensor> findTensor(String name) throws ModelFormatException {
        GgufTensorInfo info = byName.get(name);
        return info == null ? Optional.empty() : Optional.of(toTensor(info));
    }

    private Tensor toTensor(GgufTensorInfo info) throws ModelFormatException {
        if (!info.type().supported()) {
            throw new ModelFormatException(path, "tensor '" + info.name() + "' type", "has type " + info.type()
                    + ", which Tessera does not support (supported: " + QuantCodec.supportedNames() + ")");
        }
        MemorySegment data = mapping.asSlice(header.dataOffset() + info.offset(), info.byteSize());
        return new Tensor(info.name(), info.type(), info.dims(), data);
    }

    /** Unmaps the file; tensors taken from it must not be used afterwards. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return path + " (GGUF v" + version() + ", " + header.tensors().size() + " tensors, "
                + metadata().size() + " keys)";
    }
}
