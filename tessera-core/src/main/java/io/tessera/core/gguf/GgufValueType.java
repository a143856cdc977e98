package io.tessera.core.gguf;

/** Metadata value types of GGUF, with their on-disk ids. */
public enum GgufValueType {
    UINT8(0, 1, "an unsigned 8-bit integer"),
    INT8(1, 1, "an 8-bit integer"),
    UINT16(2, 2, "an unsigned 16-bit integer"),
    INT16(3, 2, "a 16-bit integer"),
    UINT32(4, 4, "an unsigned 32-bit integer"),
    INT32(5, 4, "a 32-bit integer"),
    FLOAT32(6, 4, "a float32"),
    BOOL(7, 1, "a bool"),
    STRING(8, 8, "a string"),
    ARRAY(9, 12, "an array"),
    UINT64(10, 8, "an unsigned 64-bit integer"),
    INT64(11, 8, "a 64-bit integer"),
    FLOAT64(12, 8, "a float64");

    private static final GgufValueType[] BY_ID = values();

    private final int id;
    private final int minBytes;
    private final String description;

    GgufValueType(int id, int minBytes, String description) {
        this.id = id;
        this.minBytes = minBytes;
        this.description = description;
    }

    public int id() {
        return id;
    }

    /** The fewest bytes one value of this type takes in a file (a string: its length; an array: type and length). */
    public int minBytes() {
        return minBytes;
    }

    /** "a string", "an unsigned 32-bit integer", ... for messages. */
    public String description() {
        return description;
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT64;
    }

    /** The type with this id, or null when unknown. */
    public static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
