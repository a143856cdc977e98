package io.tessera.core.kernel;

import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;

/** Decodes one row of a weight tensor of some type into floats. */
@FunctionalInterface
interface RowDecoder {

    void decode(MemorySegment data, long byteOffset, float[] dst, int n);

    static RowDecoder of(GgmlType type) {
        QuantCodec codec = QuantCodec.of(type);
        return (data, offset, dst, n) -> codec.dequantizeRow(data, offset, dst, 0, n);
    }
}
