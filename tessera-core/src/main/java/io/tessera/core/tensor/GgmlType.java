package io.tessera.core.tensor;

/**
 * Tensor element types as numbered in the GGML/GGUF ecosystem. Quantized types store values in
 * blocks: {@link #blockSize()} values take {@link #typeSize()} bytes. Only the types Tessera can
 * compute with are {@link #supported()}; the others are listed so that a file using them gets a
 * clear "unsupported tensor type Q5_K" instead of "unknown type 13".
 *
 * <p>{@link #FP8} and {@link #W8A8} are Tessera's own: GGUF defines no FP8 type, so it has no GGUF id ({@link #inGguf}
 * is false), no GGUF file can name it and the GGUF writer refuses it. It is how FP8 weights (read
 * from a Hugging Face FP8 checkpoint, or quantized at load) are held in memory.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 2 + 16, true),
    Q4_1(3, 32, 2 + 2 + 16, true),
    Q5_0(6, 32, 2 + 4 + 16, false),
    Q5_1(7, 32, 2 + 2 + 4 + 16, false),
    Q8_0(8, 32, 2 + 32, true),
    Q8_1(9, 32, 4 + 4 + 32, false),
    Q2_K(10, 256, 256 / 16 + 256 / 4 + 2 + 2, false),
    Q3_K(11, 256, 256 / 8 + 256 / 4 + 12 + 2, false),
    /** 256 values: d (f16), dmin (f16), 12 bytes of 6-bit scales and mins, 128 bytes of nibbles. */
    Q4_K(12, 256, 2 + 2 + 12 + 128, true),
    Q5_K(13, 256, 2 + 2 + 12 + 32 + 128, false),
    /** 256 values: 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, d (f16). */
    Q6_K(14, 256, 128 + 64 + 16 + 2, true),
    Q8_K(15, 256, 4 + 256 + 32, false),
    IQ2_XXS(16, 256, 2 + 64, false),
    IQ2_XS(17, 256, 2 + 64 + 8, false),
    IQ3_XXS(18, 256, 2 + 96, false),
    IQ1_S(19, 256, 2 + 32 + 16, false),
    IQ4_NL(20, 32, 2 + 16, false),
    IQ3_S(21, 256, 2 + 64 + 32 + 8 + 4, false),
    IQ2_S(22, 256, 2 + 64 + 16, false),
    IQ4_XS(23, 256, 2 + 2 + 4 + 128, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 32 + 16 + 8, false),
    BF16(30, 1, 2, true),
    TQ1_0(34, 256, 2 + 4 * 13, false),
    TQ2_0(35, 256, 2 + 64, false),
    /**
     * FP8 E4M3 weights, blocks of 64 values: a float32 scale, then 64 E4M3 bytes; value = scale ·
     * e4m3(q). One scale per 64 columns of a row holds every scale layout Hugging Face checkpoints
     * use (per tensor, per output channel, 128 × 128 blocks) exactly. Not a GGUF type.
     */
    FP8(-1, 64, 4 + 64, true),
    /**
     * W8A8 (SmoothQuant, compressed-tensors' int8 scheme): one signed byte per weight, the row's
     * values {@code scale_r · q}, the scale of each row carried beside the bytes
     * ({@link RowScales}, so a {@link Tensor} of this type always has them). Activations are
     * rounded to int8 per token when the matrix runs, the products summed in int32. Not a GGUF
     * type.
     */
    W8A8(-1, 1, 1, true);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            if (t.inGguf()) {
                BY_ID[t.id] = t;
            }
        }
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;
    private final boolean supported;

    GgmlType(int id, int blockSize, int typeSize, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.supported = supported;
    }

    /**
     * The numeric id used in GGUF tensor infos and {@code general.file_type}-style fields; -1 for a
     * type GGUF does not define ({@link #FP8}, {@link #W8A8}).
     */
    public int id() {
        return id;
    }

    /** Whether GGUF defines this type, so that a GGUF file can hold it. */
    public boolean inGguf() {
        return id >= 0;
    }

    /** Number of values in one block (1 for plain float and integer types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes taken by one block. */
    public int typeSize() {
        return typeSize;
    }

    /** Whether Tessera can read and compute with tensors of this type. */
    public boolean supported() {
        return supported;
    }

    public boolean quantized() {
        return blockSize > 1;
    }

    /** The GGUF type with this id, or null when the id is unknown. */
    public static GgmlType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    /**
     * Bytes taken by {@code elements} values. The count must be a multiple of the block size; the
     * caller validates that (a file whose rows do not fill whole blocks is corrupt).
     */
    public long bytesFor(long elements) {
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }

    /** Average storage per value, e.g. 8.5 bits for Q8_0. */
    public double bitsPerValue() {
        return typeSize * 8.0 / blockSize;
    }

    public static GgmlType parse(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown tensor type '" + name + "'");
    }
}
