package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q6_K: super-blocks of 256 values, {@code {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}}.
 * Value i has a 6-bit level q (low 4 bits in ql, high 2 bits in qh) and belongs to sub-block
 * {@code i / 16}: value = {@code d * scales[i / 16] * (q - 32)}. Each half of 128 values uses 64
 * bytes of ql and 32 of qh: for l < 32, values l and l+64 share {@code ql[l]} (low, high nibble),
 * l+32 and l+96 share {@code ql[l+32]}, and {@code qh[l]} holds the high bits of l, l+32, l+64, l+96
 * in bit pairs 0-1, 2-3, 4-5, 6-7.
 */
final class Q6_KCodec implements QuantCodec {
    static final Q6_KCodec INSTANCE = new Q6_KCodec();
    private static final int QK = 256;
    private static final int BLOCK_BYTES = 210;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float d = LE.f16(src, block + D);
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half;
                long qh = block + QH + 32L * half;
                long sc = block + SCALES + 8L * half;
                int out = dstOff + b * QK + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo0 = LE.u8(src, ql + l);
                    int lo1 = LE.u8(src, ql + l + 32);
                    int hi = LE.u8(src, qh + l);
                    int q1 = ((lo0 & 0xF) | ((hi & 3) << 4)) - 32;
                    int q2 = ((lo1 & 0xF) | (((hi >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo0 >>> 4) | (((hi >>> 4) & 3) << 4)) - 32;
                    int q4 = ((lo1 >>> 4) | (((hi >>> 6) & 3) << 4)) - 32;
                    dst[out + l] = d * LE.i8(src, sc + is) * q1;
                    dst[out + l + 32] = d * LE.i8(src, sc + is + 2) * q2;
                    dst[out + l + 64] = d * LE.i8(src, sc + is + 4) * q3;
                    dst[out + l + 96] = d * LE.i8(src, sc + is + 6) * q4;
                }
            }
        }
    }

    /**
     * Symmetric per sub-block: the scale is rounded up (after d is known as f16) so that the
     * largest magnitude of the sub-block fits in levels -31..31 and the error stays within half a
     * step.
     */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        int nb = QuantCodec.blocks(type(), n);
        float[] amax = new float[16];
        int[] sc = new int[16];
        int[] q = new int[QK];
        for (int b = 0; b < nb; b++) {
            int in = srcOff + b * QK;
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float maxAmax = 0;
            for (int k = 0; k < 16; k++) {
                float a = 0;
                for (int l = 0; l < 16; l++) {
                    a = Math.max(a, Math.abs(src[in + 16 * k + l]));
                }
                amax[k] = a;
                maxAmax = Math.max(maxAmax, a);
            }
            short dBits = Half.fromFloatRoundUp(maxAmax / 31 / 127);
            float d = Float.float16ToFloat(dBits);
            for (int k = 0; k < 16; k++) {
                sc[k] = d > 0 ? Math.min(127, (int) Math.ceil(amax[k] / 31 / d)) : 0;
                float step = d * sc[k];
                for (int l = 0; l < 16; l++) {
                    int level = step == 0 ? 0 : Math.clamp(Math.round(src[in + 16 * k + l] / step), -32, 31);
                    q[16 * k + l] = level + 32;
                }
                LE.put8(dst, block + SCALES + k, sc[k]);
            }
            LE.putF16(dst, block + D, dBits);
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half;
                long qh = block + QH + 32L * half;
                int base = 128 * half;
                for (int l = 0; l < 32; l++) {
                    int q1 = q[base + l];
                    int q2 = q[base + l + 32];
                    int q3 = q[base + l + 64];
                    int q4 = q[base + l + 96];
                    LE.put8(dst, ql + l, (q1 & 0xF) | ((q3 & 0xF) << 4));
                    LE.put8(dst, ql + l + 32, (q2 & 0xF) | ((q4 & 0xF) << 4));
                    LE.put8(dst, qh + l, (q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6));
                }
            }
        }
    }
}
