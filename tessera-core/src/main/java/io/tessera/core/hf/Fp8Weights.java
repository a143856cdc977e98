package io.tessera.core.hf;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.quant.Float8;
import io.tessera.core.quant.Fp8Codec;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.safetensors.SafetensorsDtype;
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
 * An FP8 matrix of a checkpoint and its scales, rearranged into {@link GgmlType#FP8} blocks (each
 * 64 codes of a row after the scale that applies to them), one byte per weight plus a scale per 64.
 * Per-tensor, per-channel and block scales ({@link HfQuantization}) all become per-64 scales; a
 * block scale's columns must be a multiple of 64, as 128 is.
 *
 * <p>E4M3 codes ({@code F8_E4M3}) are copied, not re-rounded, so the model holds the checkpoint's
 * values exactly. E5M2 codes ({@code F8_E5M2}) are rewritten as E4M3 codes, block by block, with
 * the block's scale multiplied by a power of two ({@link #e5m2AsE4m3}): an E5M2 value has 2
 * mantissa bits, which E4M3's 3 hold down to its binade 2^-7, so every code whose binade is at
 * most 15 below its block's largest keeps its exact value; a smaller one rounds to E4M3's nearest,
 * off by at most half E4M3's smallest step, under 2^-18 of the block's largest. One kernel, one
 * byte per weight, whichever the checkpoint's FP8 flavour.
 *
 * <p>NaN codes (and E5M2's infinities), and scales the kernels cannot use
 * ({@link Fp8Codec#checkScale}) are refused, naming the tensor.
 */
final class Fp8Weights {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp8Weights() {
    }

    /**
     * @param weight the {@code [rows, cols]} F8_E4M3 or F8_E5M2 tensor
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
        boolean e5m2 = weight.dtype() == SafetensorsDtype.F8_E5M2;
        float[] scales = values(scaleFile, scale);
        ScaleLayout layout = layout(scaleFile.path(), scale, q, rows, cols);
        for (int i = 0; i < scales.length; i++) {
            try {
                // an E5M2 block's scale is multiplied by a power of two first, and checked once it is final
                Fp8Codec.checkScale(e5m2 ? Math.min(scales[i], 0f) : scales[i], "value " + i);
                if (e5m2 && !Float.isFinite(scales[i])) {
                    throw new IllegalArgumentException("value " + i + " is " + scales[i] + "; FP8 scales must be finite");
                }
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
        long[] badScale = {-1};
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int b = 0; b < blocks; b++) {
                long src = (long) r * cols + (long) b * Fp8Codec.BLOCK;
                long dst = r * rowBytes + (long) b * Fp8Codec.BLOCK_BYTES;
                float s = scales[layout.index(r, b * Fp8Codec.BLOCK)];
                for (int j = 0; j < Fp8Codec.BLOCK; j++) {
                    byte code = codes.get(ValueLayout.JAVA_BYTE, src + j);
                    if (e5m2 ? (code & 0x7F) >= E5M2_INFINITY : Float8.isE4m3NaN(code)) {
                        first(nan, src + j);
                    }
                }
                if (!e5m2) {
                    out.set(F32, dst, s);
                    MemorySegment.copy(codes, src, out, dst + 4, Fp8Codec.BLOCK);
                } else if (nan[0] < 0 && !e5m2AsE4m3(codes, src, s, out, dst)) {
                    first(badScale, src);
                }
            }
        });
        if (nan[0] >= 0) {
            throw new ModelFormatException(path, what, "holds a " + (e5m2 ? "NaN or infinite" : "NaN") + " code at row "
                    + nan[0] / cols + ", column " + nan[0] % cols);
        }
        if (badScale[0] >= 0) {
            long r = badScale[0] / cols;
            throw new ModelFormatException(scaleFile.path(), "tensor '" + scale.name() + "'", "the scale of row " + r
                    + ", column " + badScale[0] % cols + " (" + scales[layout.index((int) r, (int) (badScale[0] % cols))]
                    + ") times the power of two that brings its E5M2 codes into E4M3's range is not below "
                    + Fp8Codec.MAX_SCALE + " or not exact");
        }
        if (codes.isMapped()) {
            codes.unload();
        }
        return new Tensor(ggufName, GgmlType.FP8, new long[] {cols, rows}, out);
    }

    /** E5M2 codes of this magnitude and above are infinities (0x7C) and NaNs. */
    private static final int E5M2_INFINITY = 0x7C;
    /** E4M3's largest binade: its largest value is 1.75 · 2^8. */
    private static final int E4M3_TOP_EXPONENT = 8;

    /** Keeps the smallest of the positions offered in {@code first[0]} (-1 for none yet). */
    private static void first(long[] first, long at) {
        synchronized (first) {
            first[0] = first[0] < 0 ? at : Math.min(first[0], at);
        }
    }

    /**
     * One block of 64 E5M2 codes at {@code src} with {@code scale}, written at {@code dst} as a
     * {@link GgmlType#FP8} block: the codes' values times 2^k as E4M3, the scale times 2^-k, with
     * k bringing the block's largest code into E4M3's top binade. Multiplying by a power of two is
     * exact both ways, so a code whose value times 2^k lies in E4M3's range keeps it exactly (an
     * E5M2 mantissa fits E4M3's); only codes under it round. k is lowered (codes smaller, still
     * exact at the top) where the scale times 2^-k would lose bits as a float subnormal.
     *
     * @return false when no k gives a block scale the kernels use exactly (below 2^8 and exact)
     */
    private static boolean e5m2AsE4m3(MemorySegment codes, long src, float scale, MemorySegment out, long dst) {
        int top = Integer.MIN_VALUE;
        for (int j = 0; j < Fp8Codec.BLOCK; j++) {
            float v = Float8.e5m2ToFloat(codes.get(ValueLayout.JAVA_BYTE, src + j));
            if (v != 0) {
                top = Math.max(top, Math.getExponent(v));
            }
        }
        int k = top == Integer.MIN_VALUE ? 0 : E4M3_TOP_EXPONENT - top;
        while (scale != 0 && Math.scalb(scale, -k) < Fp8Codec.MAX_SCALE && Math.scalb(Math.scalb(scale, -k), k) != scale) {
            k--;
        }
        float blockScale = Math.scalb(scale, -k);
        if (!(blockScale < Fp8Codec.MAX_SCALE) || Math.scalb(blockScale, k) != scale) {
            return false;
        }
        out.set(F32, dst, blockScale);
        for (int j = 0; j < Fp8Codec.BLOCK; j++) {
            float v = Float8.e5m2ToFloat(codes.get(ValueLayout.JAVA_BYTE, src + j));
            out.set(ValueLayout.JAVA_BYTE, dst + 4 + j, Float8.floatToE4m3(Math.scalb(v, k)));
        }
        return true;
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
