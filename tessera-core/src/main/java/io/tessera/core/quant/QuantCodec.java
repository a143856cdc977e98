package io.tessera.core.quant;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Plain scalar reference encoder/decoder of one tensor type, in the exact GGML block layout. These
 * define what the bytes mean; fast kernels are checked against them. All data is little-endian and
 * may sit at any byte offset.
 */
public interface QuantCodec {

    /**
     * The GGUF types that have a codec, in the order error messages list them ({@link GgmlType#FP8},
     * Tessera's own in-memory type, has one too).
     */
    List<GgmlType> SUPPORTED = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.Q6_K);

    GgmlType type();

    /**
     * Decodes {@code n} values (a multiple of the block size) stored at {@code byteOffset} of
     * {@code src} into {@code dst[dstOff .. dstOff + n)}.
     */
    void dequantizeRow(MemorySegment src, long byteOffset, float[] dst, int dstOff, int n);

    /**
     * Encodes {@code src[srcOff .. srcOff + n)} ({@code n} a multiple of the block size) into
     * {@code type().bytesFor(n)} bytes at {@code byteOffset} of {@code dst}.
     */
    void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long byteOffset);

    /** The codec of a supported type. */
    static QuantCodec of(GgmlType type) {
        return switch (type) {
            case F32 -> F32Codec.INSTANCE;
            case F16 -> F16Codec.INSTANCE;
            case BF16 -> BF16Codec.INSTANCE;
            case Q8_0 -> Q8_0Codec.INSTANCE;
            case Q4_0 -> Q4_0Codec.INSTANCE;
            case Q4_1 -> Q4_1Codec.INSTANCE;
            case Q4_K -> Q4_KCodec.INSTANCE;
            case Q6_K -> Q6_KCodec.INSTANCE;
            case FP8 -> Fp8Codec.INSTANCE;
            default -> throw new IllegalArgumentException("no codec for tensor type " + type + " (supported: "
                    + supportedNames() + ")");
        };
    }

    /** "F32, F16, BF16, ..." for messages. */
    static String supportedNames() {
        return String.join(", ", SUPPORTED.stream().map(Enum::name).toList());
    }

    /** Checks that {@code n} values fill whole blocks of {@code type}. */
    static int blocks(GgmlType type, int n) {
        if (n < 0 || n % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " rows hold whole blocks of " + type.blockSize()
                    + " values; " + n + " is not a multiple");
        }
        return n / type.blockSize();
    }
}
