package io.tessera.core.model;

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
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a llama2.c checkpoint: seven int32 header fields, then float32 tensors in a fixed order
 * (see the format notes in the project docs). The file is memory-mapped; matrices are F32 views of
 * the mapping.
 */
public final class Llama2cLoader {

    private static final int HEADER_BYTES = 7 * Integer.BYTES;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Llama2cLoader() {
    }

    public static LlamaModel load(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new ModelFormatException(file, "header", "file has " + size
                        + " bytes, a llama2.c checkpoint header alone has " + HEADER_BYTES);
            }
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            LlamaModel model = read(file, data, arena);
            return model;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static LlamaModel read(Path file, MemorySegment data, Arena arena) throws ModelFormatException {
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
        LlamaConfig cfg;
        try {
            cfg = new LlamaConfig("llama", dim, h[1], h[2], heads, h[4], dim / heads, vocab, h[6],
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

        Cursor c = new Cursor(data, HEADER_BYTES);
        Tensor embedding = c.matrix("token_embd.weight", vocab, dim);
        float[][] attnNorm = c.vectors(cfg.layers(), dim);
        Tensor[] wq = c.matrices("attn_q", cfg.layers(), dim, dim);
        Tensor[] wk = c.matrices("attn_k", cfg.layers(), (int) kvDim, dim);
        Tensor[] wv = c.matrices("attn_v", cfg.layers(), (int) kvDim, dim);
        Tensor[] wo = c.matrices("attn_output", cfg.layers(), dim, dim);
        float[][] ffnNorm = c.vectors(cfg.layers(), dim);
        Tensor[] w1 = c.matrices("ffn_gate", cfg.layers(), (int) hidden, dim);
        Tensor[] w2 = c.matrices("ffn_down", cfg.layers(), dim, (int) hidden);
        Tensor[] w3 = c.matrices("ffn_up", cfg.layers(), (int) hidden, dim);
        float[] finalNorm = c.vectors(1, dim)[0];
        c.skip(4L * cfg.contextLength() * headDim); // legacy RoPE tables (cos and sin halves)
        Tensor output = tied ? embedding : c.matrix("output.weight", vocab, dim);

        List<LayerWeights> blocks = new ArrayList<>();
        for (int l = 0; l < cfg.layers(); l++) {
            blocks.add(new LayerWeights(attnNorm[l], wq[l], wk[l], wv[l], wo[l], ffnNorm[l], w1[l], w2[l], w3[l]));
        }
        return new LlamaModel(file, cfg, embedding, blocks, finalNorm, output, arena::close);
    }

    /** Walks the tensors in file order. */
    private static final class Cursor {
        private final MemorySegment data;
        private long offset;

        Cursor(MemorySegment data, long offset) {
            this.data = data;
            this.offset = offset;
        }

        Tensor matrix(String name, int rows, int cols) {
            long bytes = 4L * rows * cols;
            Tensor t = new Tensor(name, GgmlType.F32, new long[] {cols, rows}, data.asSlice(offset, bytes));
            offset += bytes;
            return t;
        }

        Tensor[] matrices(String name, int layers, int rows, int cols) {
            Tensor[] out = new Tensor[layers];
            for (int l = 0; l < layers; l++) {
                out[l] = matrix("blk." + l + "." + name + ".weight", rows, cols);
            }
            return out;
        }

        float[][] vectors(int count, int length) {
            float[][] out = new float[count][length];
            for (int i = 0; i < count; i++) {
                MemorySegment.copy(data, FLOAT, offset, out[i], 0, length);
                offset += 4L * length;
            }
            return out;
        }

        void skip(long bytes) {
            offset += bytes;
        }
    }
}
