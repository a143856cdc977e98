package io.tessera.core.forward;

import java.util.Locale;

/**
 * How a {@link PagedKvCache} stores keys and values. A token's keys (or values) are its KV heads
 * one after another; a head is a whole number of blocks, each an optional scale followed by its
 * values' codes, so one head of one token can be read on its own (attention reads one KV head at a
 * time, and a tensor-parallel rank holds a run of whole heads).
 *
 * <p>The 8-bit types quantize each token's row as it is stored, from that row alone, so what a
 * token's keys become never depends on the other tokens of its batch. Sizes per head:
 * <ul>
 * <li>{@code f32}, {@code f16}, {@code bf16}: 4, 2, 2 bytes a value.
 * <li>{@code q8_0}: llama.cpp's cache, blocks of 32 values (a float16 scale and 32 signed bytes);
 *     the head dimension must be a multiple of 32.
 * <li>{@code int8}: one float32 scale per head per token (the head's largest magnitude / 127),
 *     then one signed byte a value; any head dimension.
 * <li>{@code fp8_e4m3} ({@code fp8}): one float32 scale per head per token (largest magnitude /
 *     448, E4M3's largest value), then one E4M3 code a value: the scale keeps the head's values in
 *     the codes' range, where E4M3's 3 mantissa bits hold.
 * <li>{@code fp8_e5m2}: one E5M2 code a value, no scale: E5M2 is float16 with its lowest 8 bits
 *     rounded off, so it spans 2^-16..57344 like float16 and a scale would only move a range the
 *     activations already fit in, not add precision; exactly half of {@code f16}.
 * </ul>
 */
public enum KvCacheType {
    F32(1, 0, 4),
    F16(1, 0, 2),
    BF16(1, 0, 2),
    Q8_0(32, 2, 1),
    INT8(KvCacheType.ONE_BLOCK_PER_HEAD, 4, 1),
    FP8_E4M3(KvCacheType.ONE_BLOCK_PER_HEAD, 4, 1),
    FP8_E5M2(1, 0, 1);

    /** The names {@link #parse} takes, for help texts and messages. */
    public static final String CHOICES = "f32, f16, bf16, q8_0, int8, fp8 (fp8_e4m3) or fp8_e5m2";

    /** A block size meaning "the whole head", whatever its dimension. */
    private static final int ONE_BLOCK_PER_HEAD = 0;

    private final int blockValues;
    private final int scaleBytes;
    private final int valueBytes;

    KvCacheType(int blockValues, int scaleBytes, int valueBytes) {
        this.blockValues = blockValues;
        this.scaleBytes = scaleBytes;
        this.valueBytes = valueBytes;
    }

    /** The name {@code --kv-cache-dtype} takes. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Values that share a scale: 1 for the unscaled types, 32 for q8_0, the whole head for int8 and fp8_e4m3. */
    public int blockValues(int headDim) {
        return blockValues == ONE_BLOCK_PER_HEAD ? headDim : blockValues;
    }

    /** Bytes of a block's scale at its start: 0 for the unscaled types. */
    public int scaleBytes() {
        return scaleBytes;
    }

    /** Bytes one block takes: its scale and its values' codes. */
    public long bytesPerBlock(int headDim) {
        return scaleBytes + (long) blockValues(headDim) * valueBytes;
    }

    /** Whether heads of {@code headDim} values are a whole number of this type's blocks. */
    public boolean fitsHeadDim(int headDim) {
        return headDim > 0 && headDim % blockValues(headDim) == 0;
    }

    /**
     * Refuses a type whose blocks a head does not fill: attention reads the cache one KV head at a
     * time, so each head must start and end on a block boundary.
     */
    public void requireHeadDim(int headDim) {
        if (!fitsHeadDim(headDim)) {
            throw new IllegalArgumentException("a " + cliName() + " KV cache needs a head dimension that is a multiple of "
                    + blockValues(headDim) + "; this model's is " + headDim);
        }
    }

    /** Bytes one head of one token takes (keys or values). */
    public long bytesPerHead(int headDim) {
        requireHeadDim(headDim);
        return headDim / blockValues(headDim) * bytesPerBlock(headDim);
    }

    /** Bytes one token takes in all layers, keys and values, for {@code kvHeads} heads of {@code headDim}. */
    public long bytesPerToken(int layers, int kvHeads, int headDim) {
        return 2L * layers * kvHeads * bytesPerHead(headDim);
    }

    /** Bytes a stored value takes on average, scales included. */
    public double bytesPerValue(int headDim) {
        return (double) bytesPerHead(headDim) / headDim;
    }

    /**
     * Parses a {@code --kv-cache-dtype}: f32, f16, bf16, q8_0, int8, fp8_e4m3, fp8_e5m2 (any case),
     * and vLLM's {@code fp8}, which is fp8_e4m3 as vLLM takes it.
     */
    public static KvCacheType parse(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT);
        if (n.equals("FP8")) {
            return FP8_E4M3;
        }
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown KV cache type '" + name + "' (expected " + CHOICES + ")");
        }
    }
}
