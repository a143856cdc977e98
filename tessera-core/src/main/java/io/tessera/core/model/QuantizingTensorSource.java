package io.tessera.core.model;

import io.tessera.core.arch.TensorNames;
import io.tessera.core.arch.TensorSource;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.kernel.WeightKernel;
import io.tessera.core.quant.Int8Rows;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.RowScales;
import io.tessera.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * A file's tensors with every matrix quantized once, as it is bound, into memory of its own
 * ({@code --quantize}): each row is widened to floats and encoded by the type's codec, exactly as
 * the GGUF writer encodes it, so a model quantized at load holds the same bytes as the GGUF file
 * {@code convert} writes in that type. Afterwards the source matrix's mapped pages are released
 * ({@link MemorySegment#unload}), so the unquantized weights are never held in memory as a whole:
 * at any time only the matrix being quantized is resident. Vectors (norms, biases) stay floats.
 *
 * <p>A matrix the kernels run faster in lane order ({@link WeightKernel#repackForKernels}) is
 * rearranged right away and its plain copy freed, as loading a GGUF file releases the mapped plain
 * bytes after repacking: otherwise the plain quantized copy would stay allocated beside the
 * repacked one and the model would take twice its size. The token embedding (looked up by row)
 * stays in the plain layout, as for GGUF files.
 *
 * <p>Only F32, F16 and BF16 matrices are quantized; a matrix already in the target type is kept as
 * it is, one in another quantized type is refused (re-quantizing loses precision twice: convert the
 * original instead).
 */
public final class QuantizingTensorSource implements TensorSource {

    /** Told after each matrix is quantized. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (matrices, layer, layers, bytesWritten) -> { };

        /**
         * @param matrices matrices quantized so far
         * @param layer the block the last one belongs to, or -1 (embedding, output head)
         * @param bytesWritten bytes of quantized weights held so far
         */
        void quantized(int matrices, int layer, int layers, long bytesWritten);
    }

    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\..*");

    private final TensorSource source;
    private final WeightTypes types;
    private final int layers;
    private final Progress progress;
    /** Holds the repacked matrices. */
    private final Arena arena = Arena.ofShared();
    /** One arena per matrix kept in the plain layout. */
    private final List<Arena> plainArenas = new ArrayList<>();
    private int matrices;
    private long bytesWritten;

    public QuantizingTensorSource(TensorSource source, WeightTypes types, int layers, Progress progress) {
        this.source = source;
        this.types = types;
        this.layers = layers;
        this.progress = progress;
    }

    @Override
    public Path path() {
        return source.path();
    }

    @Override
    public boolean has(String name) throws ModelFormatException {
        return source.has(name);
    }

    @Override
    public float[] vector(String name, int length) throws ModelFormatException {
        return source.vector(name, length);
    }

    @Override
    public Tensor matrix(String name, int rows, int cols) throws ModelFormatException {
        return quantized(source.matrix(name, rows, cols), name, rows, cols);
    }

    /** Each expert's matrix of a stacked tensor, quantized as a matrix of its own under the stacked tensor's name. */
    @Override
    public List<Tensor> stackedMatrices(String name, int count, int rows, int cols) throws ModelFormatException {
        List<Tensor> out = new ArrayList<>(count);
        for (Tensor t : source.stackedMatrices(name, count, rows, cols)) {
            out.add(quantized(t, name, rows, cols));
        }
        return out;
    }

    private Tensor quantized(Tensor t, String name, int rows, int cols) throws ModelFormatException {
        int layer = layerOf(name);
        GgmlType target = types.typeOf(name, layer, layers, cols);
        if (t.type() == target) {
            return t;
        }
        if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) {
            throw new ModelFormatException(source.path(), "tensor '" + name + "'", "is already quantized ("
                    + t.type() + "); --quantize applies to F32, F16 and BF16 weights (convert the original instead)");
        }
        if (target == GgmlType.W8A8) {
            return int8(t, name, rows, cols, layer);
        }
        QuantCodec codec = QuantCodec.of(target);
        long rowBytes = target.bytesFor(cols);
        Arena plain = Arena.ofShared();
        MemorySegment quantized = plain.allocate(rowBytes * rows, 64);
        // rows are independent and each is encoded the same way on any thread
        try {
            IntStream.range(0, rows).parallel().forEach(r -> {
                float[] row = new float[cols];
                MatMul.row(t, r, row, 0);
                try {
                    codec.quantizeRow(row, 0, cols, quantized, r * rowBytes);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("row " + r + ": " + e.getMessage(), e);
                }
            });
        } catch (IllegalArgumentException e) {
            plain.close();
            // a value the type cannot hold (FP8: non-finite weights, or magnitudes past 448 · 2^8)
            throw new ModelFormatException(source.path(), "tensor '" + name + "'", "cannot be quantized to "
                    + target + ": " + e.getMessage(), e);
        }
        if (t.data().isMapped()) {
            t.data().unload();
        }
        bytesWritten += quantized.byteSize();
        progress.quantized(++matrices, layer, layers, bytesWritten);
        Tensor result = new Tensor(t.name(), target, t.dims(), quantized);
        Tensor packed = name.equals(TensorNames.TOKEN_EMBEDDING) ? result : WeightKernel.repackForKernels(result, arena);
        if (packed != result) {
            plain.close();
        } else {
            plainArenas.add(plain);
        }
        return packed;
    }

    /**
     * W8A8: each row rounded to int8 with its own scale ({@link Int8Rows}), the bytes of the
     * compressed-tensors directory {@code quantize --method rtn} writes; the token embedding and the
     * output head stay as stored, as in that directory.
     */
    private Tensor int8(Tensor t, String name, int rows, int cols, int layer) throws ModelFormatException {
        if (name.equals(TensorNames.TOKEN_EMBEDDING) || name.equals(TensorNames.OUTPUT)) {
            return t;
        }
        Arena plain = Arena.ofShared();
        MemorySegment codes = plain.allocate((long) rows * cols, 64);
        float[] scales = new float[rows];
        try {
            IntStream.range(0, rows).parallel().forEach(r -> {
                float[] row = new float[cols];
                MatMul.row(t, r, row, 0);
                try {
                    scales[r] = Int8Rows.quantizeRow(row, 0, cols, codes, (long) r * cols);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("row " + r + ": " + e.getMessage(), e);
                }
            });
        } catch (IllegalArgumentException e) {
            plain.close();
            throw new ModelFormatException(source.path(), "tensor '" + name + "'", "cannot be quantized to W8A8: "
                    + e.getMessage(), e);
        }
        if (t.data().isMapped()) {
            t.data().unload();
        }
        plainArenas.add(plain);
        bytesWritten += codes.byteSize() + 4L * rows;
        progress.quantized(++matrices, layer, layers, bytesWritten);
        return Tensor.w8a8(t.name(), t.dims(), codes, new RowScales(scales, 0f));
    }

    @Override
    public AutoCloseable resources() {
        AutoCloseable inner = source.resources();
        return () -> {
            try {
                inner.close();
            } finally {
                arena.close();
                plainArenas.forEach(Arena::close);
            }
        };
    }

    private static int layerOf(String name) {
        Matcher m = BLOCK.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }
}
