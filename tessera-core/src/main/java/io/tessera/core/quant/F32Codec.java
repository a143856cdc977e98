package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

final class F32Codec implements QuantCodec {
    static final F32Codec INSTANCE = new F32Codec();

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        QuantCodec.blocks(type(), n);
        MemorySegment.copy(src, LE.FLOAT, byteOffset, dst, dstOff, n);
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset) {
        QuantCodec.blocks(type(), n);
        MemorySegment.copy(src, srcOff, dst, LE.FLOAT, byteOffset, n);
    }
}
