package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q4_0: blocks of 32 values, {@code {f16 d; uint8 qs[16]}}; value j is {@code (nibble - 8) * d},
 * the low nibble of {@code qs[j]} for j < 16 and the high nibble of {@code qs[j - 16]} after.
 */
final class Q4_0Codec implements QuantCodec {
    static final Q4_0Codec INSTANCE = new Q4_0Codec();
    private static final int QK = 32;
    private static final int BLOCK_BYTES = 18;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float d = LE.f16(src, block);
            int out = dstOff + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = LE.u8(src, block + 2 + j);
                dst[out + j] = ((q & 0xF) - 8) * d;
                dst[out + j + QK / 2] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            int in = srcOff + b * QK;
            long block = byteOffset + (long) b * BLOCK_BYTES;
            // The value of largest magnitude maps to -8 exactly, keeping its sign in d.
            float amax = 0;
            float max = 0;
            for (int j = 0; j < QK; j++) {
                float v = src[in + j];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1 / d : 0;
            LE.putF16(dst, block, Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                int lo = nibble(src[in + j] * id);
                int hi = nibble(src[in + j + QK / 2] * id);
                LE.put8(dst, block + 2 + j, lo | (hi << 4));
            }
        }
    }

    private static int nibble(float scaled) {
        return Math.min(15, (int) (scaled + 8.5f)); // scaled >= -8, so truncation rounds to nearest
    }
}
