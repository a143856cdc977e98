package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

final class F16Codec implements QuantCodec {
    static final F16Codec INSTANCE = new F16Codec();

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        QuantCodec.blocks(type(), n);
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(LE.SHORT, byteOffset + 2L * i));
        }
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        QuantCodec.blocks(type(), n);
        for (int i = 0; i < n; i++) {
            dst.set(LE.SHORT, byteOffset + 2L * i, Float.floatToFloat16(src[srcOff + i]));
        }
    }
}
