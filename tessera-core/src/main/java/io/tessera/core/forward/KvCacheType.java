package io.tessera.core.forward;

import java.util.Locale;

/**
 * How a {@link PagedKvCache} stores keys and values. Sizes are given per token vector (kvDim
 * values) rather than per value so that a block-quantized type (8-bit values with a scale per head)
 * can be added without changing how caches are sized.
 */
public enum KvCacheType {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytesPerValue;

    KvCacheType(int bytesPerValue) {
        this.bytesPerValue = bytesPerValue;
    }

    /** Bytes one token's keys (or values) take: kvDim values. */
    public long bytesPerVector(int kvDim) {
        return (long) kvDim * bytesPerValue;
    }

    /** Bytes one token takes in all layers, keys and values. */
    public long bytesPerToken(int layers, int kvDim) {
        return 2L * layers * bytesPerVector(kvDim);
    }

    /** Parses "f32", "f16", "bf16" (any case). */
    public static KvCacheType parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache type '" + name + "' (expected f32, f16 or bf16)");
        }
    }
}
