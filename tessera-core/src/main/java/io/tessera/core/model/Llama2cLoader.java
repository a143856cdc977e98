package io.tessera.core.model;

import io.tessera.core.arch.TensorNames;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.arch.llama.Llama;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a llama2.c checkpoint: seven int32 header fields, then float32 tensors in a fixed order
 * (see the format notes in the project docs). The file is memory-mapped; matrices are F32 views of
 * the mapping. The tensors are named as in GGUF and bound by the {@link Llama} family.
 */
public final class Llama2cLoader {

    private static final int HEADER_BYTES = 7 * Integer.BYTES;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Llama2cLoader() {
    }

    public static Model load(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new ModelFormatException(file, "header", "file has " + size
                        + " bytes, a llama2.c checkpoint header alone has " + HEADER_BYTES);
            }
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return read(file, data, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Model read(Path file, MemorySegment data, Arena arena) throws ModelFormatException {
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) {
            h[i] = data.get(INT, 4L * i);
            if (i != 5 && (h[i] <= 0 || h[i] > 1 << 20)) {
                throw new ModelFormatException(file, names[i], "value " + h[i] + " is out of range (1.." + (1 << 20) + ")");
            }
        }
        boolean tied = h[5] > 0;
        int vocab = Math.abs(h[5]);
        if (vocab == 0 || vocab > 1 << 24) {
            throw new ModelFormatException(file, "vocab_size", "value " + h[5] + " is out of range");
        }
        int dim = h[0];
        int heads = h[3];
        if (dim % heads != 0 || (dim / heads) % 2 != 0) {
            throw new ModelFormatException(file, "n_heads", heads + " does not split dim " + dim + " into even-sized heads");
        }
        if (h[4] > heads || heads % h[4] != 0) {
            throw new ModelFormatException(file, "n_kv_heads", h[4] + " does not divide n_heads " + heads);
        }
        ModelConfig cfg;
        try {
            cfg = new ModelConfig("llama", dim, h[1], h[2], heads, h[4], dim / heads, vocab, h[6],
                    10000f, RopeStyle.INTERLEAVED, 1e-5f);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "header", e.getMessage());
        }

        long layers = cfg.layers();
        long kvDim = cfg.kvDim();
        long hidden = cfg.hiddenDim();
        long headDim = cfg.headDim();
        long expected = HEADER_BYTES + 4L * (vocab * (long) dim + layers * dim
                + layers * dim * dim + 2 * layers * kvDim * dim + layers * dim * dim + layers * dim
                + 3 * layers * hidden * dim + dim + cfg.contextLength() * headDim
                + (tied ? 0 : (long) vocab * dim));
        if (data.byteSize() < expected) {
            throw new ModelFormatException(file, "tensors", "the header describes " + expected
                    + " bytes of weights but the file has " + data.byteSize() + " (truncated?)");
        }

        Cursor c = new Cursor(file, data, HEADER_BYTES, arena);
        int n = cfg.layers();
        c.takeMatrix(TensorNames.TOKEN_EMBEDDING, vocab, dim);
        c.takeVectors(n, TensorNames::attnNorm, dim);
        c.takeMatrices(n, TensorNames::attnQ, dim, dim);
        c.takeMatrices(n, TensorNames::attnK, (int) kvDim, dim);
        c.takeMatrices(n, TensorNames::attnV, (int) kvDim, dim);
        c.takeMatrices(n, TensorNames::attnOutput, dim, dim);
        c.takeVectors(n, TensorNames::ffnNorm, dim);
        c.takeMatrices(n, TensorNames::ffnGate, (int) hidden, dim);
        c.takeMatrices(n, TensorNames::ffnDown, dim, (int) hidden);
        c.takeMatrices(n, TensorNames::ffnUp, (int) hidden, dim);
        c.takeVectors(1, l -> TensorNames.OUTPUT_NORM, dim);
        c.skip(4L * cfg.contextLength() * headDim); // legacy RoPE tables (cos and sin halves)
        if (!tied) {
            c.takeMatrix(TensorNames.OUTPUT, vocab, dim);
        }
        return new Llama().bind(cfg, c);
    }

    /** Walks the tensors in file order, naming each; then serves them to the binding by name. */
    private static final class Cursor implements TensorSource {
        private final Path file;
        private final MemorySegment data;
        private final Arena arena;
        private final Map<String, Tensor> matrices = new HashMap<>();
        private final Map<String, float[]> vectors = new HashMap<>();
        private long offset;

        Cursor(Path file, MemorySegment data, long offset, Arena arena) {
            this.file = file;
            this.data = data;
            this.offset = offset;
            this.arena = arena;
        }

        void takeMatrix(String name, int rows, int cols) {
            long bytes = 4L * rows * cols;
            matrices.put(name, new Tensor(name, GgmlType.F32, new long[] {cols, rows}, data.asSlice(offset, bytes)));
            offset += bytes;
        }

        void takeMatrices(int layers, java.util.function.IntFunction<String> name, int rows, int cols) {
            for (int l = 0; l < layers; l++) {
                takeMatrix(name.apply(l), rows, cols);
            }
        }

        void takeVectors(int count, java.util.function.IntFunction<String> name, int length) {
            for (int i = 0; i < count; i++) {
                float[] v = new float[length];
                MemorySegment.copy(data, FLOAT, offset, v, 0, length);
                vectors.put(name.apply(i), v);
                offset += 4L * length;
            }
        }

        void skip(long bytes) {
            offset += bytes;
        }

        @Override
        public Path path() {
            return file;
        }

        @Override
        public boolean has(String name) {
            return matrices.containsKey(name) || vectors.containsKey(name);
        }

        @Override
        public Tensor matrix(String name, int rows, int cols) throws ModelFormatException {
            Tensor t = matrices.get(name);
            if (t == null || t.rowCount() != rows || t.rowLength() != cols) {
                throw new ModelFormatException(file, "tensor '" + name + "'", t == null ? "missing"
                        : "shape " + Arrays.toString(t.dims()) + ", expected [" + cols + ", " + rows + "]");
            }
            return t;
        }

        @Override
        public float[] vector(String name, int length) throws ModelFormatException {
            float[] v = vectors.get(name);
            if (v == null || v.length != length) {
                throw new ModelFormatException(file, "tensor '" + name + "'", v == null ? "missing"
                        : "length " + v.length + ", expected " + length);
            }
            return v;
        }

        @Override
        public AutoCloseable resources() {
            return arena::close;
        }
    }
}
