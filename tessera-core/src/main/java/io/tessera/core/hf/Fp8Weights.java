package io.tessera.core.hf;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.quant.Float8;
import io.tessera.core.quant.Fp8Codec;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * An FP8 E4M3 matrix of a checkpoint and its scales, rearranged into {@link GgmlType#FP8} blocks
 * (each 64 codes of a row after the scale that applies to them): the codes are copied, not
 * re-rounded, so the model holds the checkpoint's values exactly, one byte per weight plus a
 * scale per 64. Per-tensor, per-channel and block scales ({@link HfQuantization}) all become
 * per-64 scales; a block scale's columns must be a multiple of 64, as 128 is. NaN codes and
 * scales the kernels cannot use ({@link Fp8Codec#checkScale}) are refused, naming the tensor.
 */
final class Fp8Weights {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp8Weights() {
    }

    /**
     * @param weight the {@code [rows, cols]} F8_E4M3 tensor
     * @param scale its {@code weight_scale} or {@code weight_scale_inv} (a multiplier either way)
     */
    static Tensor pack(String ggufName, SafetensorsFile weightFile, SafetensorsTensorInfo weight,
            SafetensorsFile scaleFile, SafetensorsTensorInfo scale, HfQuantization q, int rows, int cols, Arena arena)
            throws ModelFormatException {
        Path path = weightFile.path();
        String what = "tensor '" + weight.name() + "'";
        if (cols % Fp8Codec.BLOCK != 0) {
            throw new ModelFormatException(path, what, "FP8 rows of " + cols + " values: Tessera holds FP8 weights in "
                    + "blocks of " + Fp8Codec.BLOCK + " columns");
        }
        float[] scales = values(scaleFile, scale);
        ScaleLayout layout = layout(scaleFile.path(), scale, q, rows, cols);
        for (int i = 0; i < scales.length; i++) {
            try {
                Fp8Codec.checkScale(scales[i], "value " + i);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(scaleFile.path(), "tensor '" + scale.name() + "'", e.getMessage());
            }
        }
        MemorySegment codes;
        try {
            codes = weightFile.tensorData(weight.name());
        } catch (IOException e) {
            throw new ModelFormatException(path, what, "cannot be mapped: " + e.getMessage(), e);
        }
        int blocks = cols / Fp8Codec.BLOCK;
        long rowBytes = GgmlType.FP8.bytesFor(cols);
        MemorySegment out = arena.allocate(rowBytes * rows, 64);
        long[] nan = {-1};
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int b = 0; b < blocks; b++) {
                long src = (long) r * cols + (long) b * Fp8Codec.BLOCK;
                long dst = r * rowBytes + (long) b * Fp8Codec.BLOCK_BYTES;
                out.set(F32, dst, scales[layout.index(r, b * Fp8Codec.BLOCK)]);
                MemorySegment.copy(codes, src, out, dst + 4, Fp8Codec.BLOCK);
                for (int j = 0; j < Fp8Codec.BLOCK; j++) {
                    if (Float8.isE4m3NaN(codes.get(ValueLayout.JAVA_BYTE, src + j))) {
                        synchronized (nan) {
                            nan[0] = nan[0] < 0 ? src + j : Math.min(nan[0], src + j);
                        }
                    }
                }
            }
        });
        if (nan[0] >= 0) {
            throw new ModelFormatException(path, what, "holds a NaN code at row " + nan[0] / cols + ", column "
                    + nan[0] % cols);
        }
        if (codes.isMapped()) {
            codes.unload();
        }
        return new Tensor(ggufName, GgmlType.FP8, new long[] {cols, rows}, out);
    }

    /** Where the scale of (row, column) sits in the scale tensor's values. */
    private record ScaleLayout(int rowsPerScale, int colsPerScale, int scalesPerRow) {
        int index(int row, int col) {
            return row / rowsPerScale * scalesPerRow + col / colsPerScale;
        }
    }

    private static ScaleLayout layout(Path path, SafetensorsTensorInfo scale, HfQuantization q, int rows, int cols)
            throws ModelFormatException {
        long[] s = scale.shape();
        long n = scale.elementCount();
        if (n == 1) {
            return new ScaleLayout(rows, cols, 1); // per tensor
        }
        if (n == rows && (s.length == 1 || (s.length == 2 && s[1] == 1))) {
            return new ScaleLayout(1, cols, 1); // per output channel
        }
        int br = q.blockRows();
        int bc = q.blockCols();
        String what = "tensor '" + scale.name() + "'";
        if (br > 0 && s.length == 2 && s[0] == ceil(rows, br) && s[1] == ceil(cols, bc)) {
            if (bc % Fp8Codec.BLOCK != 0) {
                throw new ModelFormatException(path, what, "blocks of " + bc + " columns: Tessera needs a multiple of "
                        + Fp8Codec.BLOCK);
            }
            return new ScaleLayout(br, bc, (int) s[1]);
        }
        String expected = "[] or [1] (per tensor), [" + rows + "] or [" + rows + ", 1] (per channel)"
                + (br > 0 ? " or [" + ceil(rows, br) + ", " + ceil(cols, bc) + "] (blocks of " + br + " x " + bc + ")"
                        : "; a block scale needs quantization_config's block size");
        throw new ModelFormatException(path, what, "shape " + Arrays.toString(s) + " fits no scale layout of a ["
                + rows + ", " + cols + "] weight, expected " + expected);
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }

    /** A scale tensor's values as floats (F32, BF16 or F16). */
    static float[] values(SafetensorsFile file, SafetensorsTensorInfo t) throws ModelFormatException {
        GgmlType type = switch (t.dtype()) {
            case F32 -> GgmlType.F32;
            case BF16 -> GgmlType.BF16;
            case F16 -> GgmlType.F16;
            default -> throw new ModelFormatException(file.path(), "tensor '" + t.name() + "'", "dtype " + t.dtype()
                    + " is not supported for a scale (supported: F32, BF16, F16)");
        };
        if (t.elementCount() > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file.path(), "tensor '" + t.name() + "'", "too many scales");
        }
        float[] v = new float[(int) t.elementCount()];
        try {
            QuantCodec.of(type).dequantizeRow(file.tensorData(t.name()), 0, v, 0, v.length);
        } catch (IOException e) {
            throw new ModelFormatException(file.path(), "tensor '" + t.name() + "'", "cannot be mapped: "
                    + e.getMessage(), e);
        }
        return v;
    }
}
