package io.tessera.core.forward;

import java.util.Locale;

/**
 * How a {@link PagedKvCache} stores keys and values. Sizes are given per token vector (kvDim
 * values): a block-quantized type stores whole blocks, so a head's values must fill them.
 */
public enum KvCacheType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /**
     * llama.cpp's {@code q8_0} cache: blocks of 32 values as one float16 scale and 32 signed bytes
     * (the Q8_0 weight layout), quantized per token as it is stored; a head dimension must be a
     * multiple of 32.
     */
    Q8_0(32, 34);

    private final int blockValues;
    private final int blockBytes;

    KvCacheType(int blockValues, int blockBytes) {
        this.blockValues = blockValues;
        this.blockBytes = blockBytes;
    }

    /** Values stored together with a shared scale: 1 for the float types. */
    public int blockValues() {
        return blockValues;
    }

    /** Bytes one token's keys (or values) take: kvDim values, a whole number of blocks. */
    public long bytesPerVector(int kvDim) {
        if (kvDim % blockValues != 0) {
            throw new IllegalArgumentException(name().toLowerCase(Locale.ROOT) + " KV cache stores blocks of "
                    + blockValues + " values; " + kvDim + " values are not a whole number of blocks");
        }
        return (long) kvDim / blockValues * blockBytes;
    }

    /** Bytes one token takes in all layers, keys and values. */
    public long bytesPerToken(int layers, int kvDim) {
        return 2L * layers * bytesPerVector(kvDim);
    }

    /**
     * Refuses a type whose blocks a head does not fill: attention reads the cache one KV head at a
     * time, so each head must start and end on a block boundary.
     */
    public void requireHeadDim(int headDim) {
        if (headDim % blockValues != 0) {
            throw new IllegalArgumentException("a " + name().toLowerCase(Locale.ROOT) + " KV cache needs a head "
                    + "dimension that is a multiple of " + blockValues + "; this model's is " + headDim);
        }
    }

    /** Parses "f32", "f16", "bf16", "q8_0" (any case). */
    public static KvCacheType parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache type '" + name
                    + "' (expected f32, f16, bf16 or q8_0)");
        }
    }
}
