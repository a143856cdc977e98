package io.tessera.core.safetensors;

/** Element types of the safetensors format, with their size in bits. */
public enum SafetensorsDtype {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32), I64(64), U64(64), F64(64);

    private final int bits;

    SafetensorsDtype(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    public int bytes() {
        return bits / 8;
    }

    /** The dtype named {@code name} in a header, or an exception naming the unknown type. */
    public static SafetensorsDtype parse(String name) {
        for (SafetensorsDtype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown safetensors dtype '" + name + "'");
    }
}
