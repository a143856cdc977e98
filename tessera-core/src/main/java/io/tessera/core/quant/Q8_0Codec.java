package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/** Q8_0: blocks of 32 values, {@code {f16 d; int8 qs[32]}}, value = qs[i] * d. */
final class Q8_0Codec implements QuantCodec {
    static final Q8_0Codec INSTANCE = new Q8_0Codec();
    private static final int QK = 32;
    private static final int BLOCK_BYTES = 34;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float d = LE.f16(src, block);
            int out = dstOff + b * QK;
            for (int j = 0; j < QK; j++) {
                dst[out + j] = LE.i8(src, block + 2 + j) * d;
            }
        }
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        int nb = QuantCodec.blocks(type(), n);
        for (int b = 0; b < nb; b++) {
            int in = srcOff + b * QK;
            long block = byteOffset + (long) b * BLOCK_BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[in + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1 / d : 0;
            LE.putF16(dst, block, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) {
                LE.put8(dst, block + 2 + j, roundHalfAway(src[in + j] * id));
            }
        }
    }

    /** C's roundf, as ggml's reference quantizer uses: halves away from zero. */
    static int roundHalfAway(float v) {
        return v < 0 ? -Math.round(-v) : Math.round(v);
    }
}
