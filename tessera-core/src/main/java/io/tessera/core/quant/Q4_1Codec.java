package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q4_1: blocks of 32 values, {@code {f16 d; f16 m; uint8 qs[16]}}; value j is
 * {@code nibble * d + m}, nibbles ordered as in Q4_0.
 */
final class Q4_1Codec implements QuantCodec {
    static final Q4_1Codec INSTANCE = new Q4_1Codec();
    private static final int QK = 32;
    private static final int BLOCK_BYTES = 20;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float d = LE.f16(src, block);
            float m = LE.f16(src, block + 2);
            int out = dstOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = LE.u8(src, block + 4 + j);
                dst[out + j] = (q & 0xF) * d + m;
                dst[out + j + QK / 2] = (q >>> 4) * d + m;
            }
        }
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            int in = srcOff + b * QK;
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < QK; j++) {
                min = Math.min(min, src[in + j]);
                max = Math.max(max, src[in + j]);
            }
            float d = (max - min) / 15;
            float id = d != 0 ? 1 / d : 0;
            LE.putF16(dst, block, Float.floatToFloat16(d));
            LE.putF16(dst, block + 2, Float.floatToFloat16(min));
            for (int j = 0; j < QK / 2; j++) {
                int lo = Math.min(15, (int) ((src[in + j] - min) * id + 0.5f));
                int hi = Math.min(15, (int) ((src[in + j + QK / 2] - min) * id + 0.5f));
                LE.put8(dst, block + 4 + j, lo | (hi << 4));
            }
        }
    }
}
