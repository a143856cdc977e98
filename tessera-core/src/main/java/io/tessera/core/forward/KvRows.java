package io.tessera.core.forward;

import io.tessera.core.quant.BFloat16;
import io.tessera.core.quant.Float8;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One token's keys (or values) in a {@link KvCacheType}: {@code kvHeads} head records of
 * {@link #headBytes()} each, a record being whole blocks of the type (an optional little-endian
 * scale, then one code per value; see {@link KvCacheType}). Writes encode a token's row from that row
 * alone; reads widen codes to floats eight at a time in vector registers, the tail one by one, and
 * give each value the same float either way ({@code code · scale}, rounded once).
 *
 * <p>This is the one place that knows what the cache's bytes mean: {@link PagedKvCache} pages rows
 * of {@link #tokenBytes()}, and another reader of the same memory (a native attention kernel) takes
 * the layout from here.
 */
final class KvRows {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** The Q8_0 cache's encoder: the weight format's, so a cached row holds what a Q8_0 tensor would. */
    private static final QuantCodec Q8_0_CODEC = QuantCodec.of(GgmlType.Q8_0);
    /** int8 codes span ±127, so that the scale maps the head's largest magnitude onto a code exactly. */
    private static final float INT8_MAX = 127f;

    private final KvCacheType type;
    private final int kvHeads;
    private final int headDim;
    private final int blockValues;
    private final long blockBytes;
    private final long headBytes;

    KvRows(KvCacheType type, int kvHeads, int headDim) {
        if (kvHeads <= 0) {
            throw new IllegalArgumentException("a KV cache needs at least one KV head, got " + kvHeads);
        }
        type.requireHeadDim(headDim);
        this.type = type;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockValues = type.blockValues(headDim);
        this.blockBytes = type.bytesPerBlock(headDim);
        this.headBytes = type.bytesPerHead(headDim);
    }

    KvCacheType type() {
        return type;
    }

    int headDim() {
        return headDim;
    }

    /** Bytes of one head of one token. */
    long headBytes() {
        return headBytes;
    }

    /** Bytes of one token: its heads one after another. */
    long tokenBytes() {
        return kvHeads * headBytes;
    }

    /**
     * Where value {@code kvOffset} of a token starts, relative to the token. Only a block's first
     * value has a place of its own; any value of the unscaled types does.
     */
    long offsetOf(int kvOffset) {
        int head = kvOffset / headDim;
        int within = kvOffset % headDim;
        if (kvOffset < 0 || head >= kvHeads || within % blockValues != 0) {
            throw new IllegalArgumentException("a " + type.cliName() + " KV cache row is read from the start of a block of "
                    + blockValues + " values within a head of " + headDim + "; value " + kvOffset + " of " + kvHeads
                    + " heads is not one");
        }
        return head * headBytes + within / blockValues * blockBytes;
    }

    /** Encodes one token's {@code kvHeads · headDim} values from {@code x[off..]} at {@code at}. */
    void write(MemorySegment seg, long at, float[] x, int off) {
        int n = kvHeads * headDim;
        switch (type) {
            case F32 -> MemorySegment.copy(x, off, seg, FLOAT, at, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(SHORT, at + 2L * i, Float.floatToFloat16(x[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(SHORT, at + 2L * i, BFloat16.fromFloat(x[off + i]));
                }
            }
            case FP8_E5M2 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(ValueLayout.JAVA_BYTE, at + i, Float8.floatToE5m2(x[off + i]));
                }
            }
            case Q8_0 -> Q8_0_CODEC.quantizeRow(x, off, n, seg, at);
            case INT8, FP8_E4M3 -> {
                for (int h = 0; h < kvHeads; h++) {
                    writeScaledHead(seg, at + h * headBytes, x, off + h * headDim);
                }
            }
        }
    }

    /**
     * One head as its scale (largest magnitude / the codes' largest) and one code per value. A head
     * of zeros keeps a zero scale and zero codes rather than dividing by zero.
     */
    private void writeScaledHead(MemorySegment seg, long at, float[] x, int off) {
        float amax = 0;
        for (int i = 0; i < headDim; i++) {
            amax = Math.max(amax, Math.abs(x[off + i]));
        }
        boolean int8 = type == KvCacheType.INT8;
        float scale = amax / (int8 ? INT8_MAX : Float8.E4M3_MAX);
        seg.set(FLOAT, at, scale);
        for (int i = 0; i < headDim; i++) {
            float q = scale == 0 ? 0 : x[off + i] / scale;
            byte code = int8 ? (byte) Math.max(-127, Math.min(127, Math.round(q))) : Float8.floatToE4m3(q);
            seg.set(ValueLayout.JAVA_BYTE, at + 4 + i, code);
        }
    }

    /**
     * Widens {@code n} values of a token, starting at value {@code kvOffset} (see {@link #offsetOf}),
     * into {@code dst[dstOffset..]}: whole blocks by vector, what is left of a block value by value.
     */
    void read(MemorySegment seg, long token, int kvOffset, float[] dst, int dstOffset, int n) {
        long at = token + offsetOf(kvOffset);
        int i = 0;
        switch (type) {
            case F32 -> {
                for (; i + 8 <= n; i += 8) {
                    floats(seg, at + 4L * i).intoArray(dst, dstOffset + i);
                }
            }
            case F16 -> {
                for (; i + 8 <= n; i += 8) {
                    halves(seg, at + 2L * i).intoArray(dst, dstOffset + i);
                }
            }
            case BF16 -> {
                for (; i + 8 <= n; i += 8) {
                    bf16s(seg, at + 2L * i).intoArray(dst, dstOffset + i);
                }
            }
            case FP8_E5M2 -> {
                for (; i + 8 <= n; i += 8) {
                    e5m2s(seg, at + i).intoArray(dst, dstOffset + i);
                }
            }
            case Q8_0 -> {
                for (; i + 32 <= n; i += 32) {
                    long block = at + 34L * (i / 32);
                    float d = Float.float16ToFloat(seg.get(SHORT, block));
                    for (int j = 0; j < 32; j += 8) {
                        signedBytes(seg, block + 2 + j).mul(d).intoArray(dst, dstOffset + i + j);
                    }
                }
            }
            case INT8 -> {
                for (; i + headDim <= n; i += headDim) {
                    long head = at + (i / headDim) * headBytes;
                    float scale = seg.get(FLOAT, head);
                    int j = 0;
                    for (; j + 8 <= headDim; j += 8) {
                        signedBytes(seg, head + 4 + j).mul(scale).intoArray(dst, dstOffset + i + j);
                    }
                    for (; j < headDim; j++) {
                        dst[dstOffset + i + j] = seg.get(ValueLayout.JAVA_BYTE, head + 4 + j) * scale;
                    }
                }
            }
            case FP8_E4M3 -> {
                for (; i + headDim <= n; i += headDim) {
                    long head = at + (i / headDim) * headBytes;
                    float scale = seg.get(FLOAT, head);
                    int j = 0;
                    for (; j + 8 <= headDim; j += 8) {
                        e4m3s(seg, head + 4 + j).mul(scale).intoArray(dst, dstOffset + i + j);
                    }
                    for (; j < headDim; j++) {
                        dst[dstOffset + i + j] = Float8.e4m3ToFloat(seg.get(ValueLayout.JAVA_BYTE, head + 4 + j)) * scale;
                    }
                }
            }
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = value(seg, token, kvOffset + i);
        }
    }

    /** Value {@code i} of the token stored at {@code token}, widened alone. */
    float value(MemorySegment seg, long token, int i) {
        return switch (type) {
            case F32 -> seg.get(FLOAT, token + 4L * i);
            case F16 -> Float.float16ToFloat(seg.get(SHORT, token + 2L * i));
            case BF16 -> BFloat16.toFloat(seg.get(SHORT, token + 2L * i));
            case FP8_E5M2 -> Float8.e5m2ToFloat(seg.get(ValueLayout.JAVA_BYTE, token + i));
            case Q8_0 -> {
                long block = token + 34L * (i / 32);
                yield Float.float16ToFloat(seg.get(SHORT, block)) * seg.get(ValueLayout.JAVA_BYTE, block + 2 + i % 32);
            }
            case INT8, FP8_E4M3 -> {
                long head = token + (i / headDim) * headBytes;
                byte code = seg.get(ValueLayout.JAVA_BYTE, head + 4 + i % headDim);
                float scale = seg.get(FLOAT, head);
                yield (type == KvCacheType.INT8 ? code : Float8.e4m3ToFloat(code)) * scale;
            }
        };
    }

    // The cache is read only through IntVector loads, which no weight kernel uses: the Vector API's
    // load code is shared by all callers of one vector class, and reading the cache's native
    // segments with the same class the kernels use on mapped weight segments made that code see two
    // segment classes and compile the F16 weight kernel's loads worse (F16 decode was slower).

    /** Eight floats. */
    private static FloatVector floats(MemorySegment seg, long at) {
        return IntVector.fromMemorySegment(IntVector.SPECIES_256, seg, at, ORDER).reinterpretAsFloats();
    }

    /**
     * Eight halves widened to floats with integer operations (the Vector API has no conversion):
     * as in the F16 weight kernel, shifting the sign-extended bits left by 13 and multiplying by
     * 2^112 rebiases the exponent, subnormals included. Infinities and NaNs, which a cache of finite
     * activations does not hold, would come out as large finite values.
     */
    private static FloatVector halves(MemorySegment seg, long at) {
        return ((IntVector) shorts(seg, at).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0))
                .lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
    }

    /** Eight bfloat16 values widened to floats: each is the upper half of its float. */
    private static FloatVector bf16s(MemorySegment seg, long at) {
        return ((IntVector) shorts(seg, at).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Eight E5M2 codes widened to floats: a code is the upper byte of a half, so the half's
     * widening applies to the sign-extended byte shifted left by 8 + 13. The encoder saturates, so
     * no code is an infinity or NaN.
     */
    private static FloatVector e5m2s(MemorySegment seg, long at) {
        return bytesAsInts(seg, at).lanewise(VectorOperators.LSHL, 21).and(0x8FFFFFFF).reinterpretAsFloats()
                .mul(0x1p112f);
    }

    /**
     * Eight E4M3 codes widened to floats, as the FP8 weight kernel rebuilds them: the sign-extended
     * code shifted left by 20 and masked is its value · 2^-120 as float bits (subnormal codes land
     * among the float subnormals), and multiplying by 2^120 is exact. The caller's multiplication
     * by the scale is then the only rounding, as in {@link #value}. The encoder saturates at ±448,
     * so no code is NaN.
     */
    private static FloatVector e4m3s(MemorySegment seg, long at) {
        return bytesAsInts(seg, at).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats()
                .mul(0x1p120f);
    }

    /** Eight signed bytes widened to floats. */
    private static FloatVector signedBytes(MemorySegment seg, long at) {
        return (FloatVector) IntVector.fromMemorySegment(IntVector.SPECIES_64, seg, at, ORDER).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F, 0);
    }

    /** Eight signed bytes sign-extended to ints. */
    private static IntVector bytesAsInts(MemorySegment seg, long at) {
        return (IntVector) IntVector.fromMemorySegment(IntVector.SPECIES_64, seg, at, ORDER).reinterpretAsBytes()
                .convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0);
    }

    /** Eight 16-bit values. */
    private static ShortVector shorts(MemorySegment seg, long at) {
        return IntVector.fromMemorySegment(IntVector.SPECIES_128, seg, at, ORDER).reinterpretAsShorts();
    }
}
