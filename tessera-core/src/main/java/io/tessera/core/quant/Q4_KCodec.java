package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q4_K: super-blocks of 256 values, {@code {f16 d; f16 dmin; uint8 scales[12]; uint8 qs[128]}}.
 * Eight sub-blocks of 32 values each have a 6-bit scale {@code sc} and a 6-bit min {@code m};
 * value = {@code (d * sc) * q - (dmin * m)}. The 64 values {@code 64c .. 64c+63} take their nibbles
 * from {@code qs[32c .. 32c+31]}: low nibbles for sub-block 2c, high nibbles for 2c+1.
 *
 * <p>Scale packing (ggml's {@code get_scale_min_k4}): for j < 4, {@code sc[j] = scales[j] & 63}
 * and {@code m[j] = scales[j+4] & 63}; for j >= 4, the low 4 bits come from {@code scales[j+4]}
 * (scale in the low nibble, min in the high one) and the high 2 bits from the top bits of
 * {@code scales[j-4]} (scale) and {@code scales[j]} (min).
 */
final class Q4_KCodec implements QuantCodec {
    static final Q4_KCodec INSTANCE = new Q4_KCodec();
    private static final int QK = 256;
    private static final int BLOCK_BYTES = 144;
    private static final int SCALES = 4;
    private static final int QS = 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /** The 6-bit scale (index 0) or min (index 1) of sub-block j, unpacked from the 12 scale bytes. */
    static int scale(MemorySegment s, long scales, int j) {
        if (j < 4) {
            return LE.u8(s, scales + j) & 63;
        }
        return (LE.u8(s, scales + j + 4) & 0xF) | ((LE.u8(s, scales + j - 4) >>> 6) << 4);
    }

    static int min(MemorySegment s, long scales, int j) {
        if (j < 4) {
            return LE.u8(s, scales + j + 4) & 63;
        }
        return (LE.u8(s, scales + j + 4) >>> 4) | ((LE.u8(s, scales + j) >>> 6) << 4);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float d = LE.f16(src, block);
            float dmin = LE.f16(src, block + 2);
            int out = dstOff + b * QK;
            for (int c = 0; c < 4; c++) {
                float d1 = d * scale(src, block + SCALES, 2 * c);
                float m1 = dmin * min(src, block + SCALES, 2 * c);
                float d2 = d * scale(src, block + SCALES, 2 * c + 1);
                float m2 = dmin * min(src, block + SCALES, 2 * c + 1);
                long qs = block + QS + 32L * c;
                for (int l = 0; l < 32; l++) {
                    int q = LE.u8(src, qs + l);
                    dst[out + 64 * c + l] = d1 * (q & 0xF) - m1;
                    dst[out + 64 * c + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }

    /**
     * Per sub-block min/max. The min (clamped to at most 0, since it is stored as a subtracted
     * non-negative offset) and the scale are rounded up, never down, once d and dmin are known as
     * f16, so every value lands inside the 16 levels and the error stays within half a step.
     */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        int nb = QuantCodec.blocks(type(), n);
        float[] negMin = new float[8];
        float[] max = new float[8];
        int[] sc = new int[8];
        int[] m = new int[8];
        float[] offset = new float[8];
        float[] needed = new float[8];
        for (int b = 0; b < nb; b++) {
            int in = srcOff + b * QK;
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float maxNegMin = 0;
            for (int j = 0; j < 8; j++) {
                float lo = 0;
                float hi = -Float.MAX_VALUE;
                for (int l = 0; l < 32; l++) {
                    float v = src[in + 32 * j + l];
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                negMin[j] = -lo;
                max[j] = hi;
                maxNegMin = Math.max(maxNegMin, negMin[j]);
            }
            short dminBits = Half.fromFloatRoundUp(maxNegMin / 63);
            float dmin = Float.float16ToFloat(dminBits);
            float maxNeeded = 0;
            for (int j = 0; j < 8; j++) {
                m[j] = dmin > 0 ? Math.min(63, (int) Math.ceil(negMin[j] / dmin)) : 0;
                offset[j] = dmin * m[j];
                needed[j] = (max[j] + offset[j]) / 15;
                maxNeeded = Math.max(maxNeeded, needed[j]);
            }
            short dBits = Half.fromFloatRoundUp(maxNeeded / 63);
            float d = Float.float16ToFloat(dBits);
            for (int j = 0; j < 8; j++) {
                sc[j] = d > 0 ? Math.min(63, (int) Math.ceil(needed[j] / d)) : 0;
            }
            LE.putF16(dst, block, dBits);
            LE.putF16(dst, block + 2, dminBits);
            for (int j = 0; j < 4; j++) {
                LE.put8(dst, block + SCALES + j, sc[j] | ((sc[j + 4] >>> 4) << 6));
                LE.put8(dst, block + SCALES + j + 4, m[j] | ((m[j + 4] >>> 4) << 6));
                LE.put8(dst, block + SCALES + j + 8, (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
            }
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    int lo = level(src[in + 64 * c + l], d * sc[2 * c], offset[2 * c]);
                    int hi = level(src[in + 64 * c + 32 + l], d * sc[2 * c + 1], offset[2 * c + 1]);
                    LE.put8(dst, block + QS + 32L * c + l, lo | (hi << 4));
                }
            }
        }
    }

    private static int level(float v, float step, float offset) {
        if (step == 0) {
            return 0;
        }
        return Math.clamp(Math.round((v + offset) / step), 0, 15);
    }
}
