package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * {@link GgmlType#FP8}: blocks of 64 values, a little-endian float32 scale then 64 E4M3 codes
 * ({@link Float8}); value = scale · e4m3(q). The codes are never NaN and a scale is finite, not
 * negative and below {@link #MAX_SCALE} (loaders and this quantizer refuse anything else), which
 * lets the kernels rebuild a value with integer operations and one multiplication by
 * {@code scale · 2^120}, exactly.
 *
 * <p>{@link #quantizeRow} gives the whole row one scale (per output channel, as compressed-tensors
 * checkpoints store it): {@code scale = max|x| / 448}, {@code q = e4m3(x / scale)}.
 */
public final class Fp8Codec implements QuantCodec {

    static final Fp8Codec INSTANCE = new Fp8Codec();

    /** Values per block. */
    public static final int BLOCK = 64;
    /** Bytes per block: the scale, then the codes. */
    public static final int BLOCK_BYTES = 4 + BLOCK;
    /**
     * Scales must stay below 2^8: the kernels multiply by {@code scale · 2^120}, which must be a
     * finite float for every code's product to be the exact value's rounding.
     */
    public static final float MAX_SCALE = 0x1p8f;

    private Fp8Codec() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.FP8;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int blocks = QuantCodec.blocks(type(), n);
        for (int b = 0; b < blocks; b++) {
            long p = byteOffset + (long) b * BLOCK_BYTES;
            float scale = src.get(LE.FLOAT, p);
            for (int j = 0; j < BLOCK; j++) {
                dst[dstOff + b * BLOCK + j] = Float8.e4m3ToFloat(LE.i8(src, p + 4 + j)) * scale;
            }
        }
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        QuantCodec.blocks(type(), n);
        float max = 0;
        for (int i = 0; i < n; i++) {
            float a = Math.abs(src[srcOff + i]);
            if (!(a <= Float.MAX_VALUE)) {
                throw new IllegalArgumentException("value " + src[srcOff + i] + " at column " + i
                        + " cannot be stored as FP8");
            }
            max = Math.max(max, a);
        }
        float scale = scaleFor(max);
        for (int b = 0; b < n / BLOCK; b++) {
            encodeBlock(src, srcOff + b * BLOCK, scale, dst, byteOffset + (long) b * BLOCK_BYTES);
        }
    }

    /** The scale that maps magnitudes up to {@code max} onto E4M3's range: {@code max / 448}. */
    public static float scaleFor(float max) {
        float scale = max / Float8.E4M3_MAX;
        checkScale(scale, "the scale of values up to " + max);
        return scale;
    }

    /** Writes one block of 64 values {@code src[off..]} with the given scale: {@code q = e4m3(x / scale)}. */
    public static void encodeBlock(float[] src, int off, float scale, MemorySegment dst, long p) {
        dst.set(LE.FLOAT, p, scale);
        for (int j = 0; j < BLOCK; j++) {
            LE.put8(dst, p + 4 + j, scale == 0 ? 0 : Float8.floatToE4m3(src[off + j] / scale));
        }
    }

    /** Throws unless the scale is one the kernels compute exactly with (see {@link #MAX_SCALE}). */
    public static void checkScale(float scale, String what) {
        if (!(scale >= 0 && scale < MAX_SCALE)) {
            throw new IllegalArgumentException(what + " is " + scale + "; FP8 scales must be finite, not negative "
                    + "and below " + MAX_SCALE);
        }
    }
}
