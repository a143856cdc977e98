package io.tessera.core.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A GGUF metadata array: elements of one type, held as one primitive array (a 150k-entry
 * vocabulary is a {@code String[]}, scores a {@code float[]}), or nested arrays. Integers are held
 * in the Java type of their width; unsigned ones are widened when read through {@link #getLong}.
 * Immutable: factories and accessors copy.
 */
public final class GgufArray {

    private final GgufValueType elementType;
    /** byte[] (u8, i8), boolean[], short[] (u16, i16), int[] (u32, i32), long[] (u64, i64), float[], double[], String[], GgufArray[]. */
    private final Object values;
    private final int length;

    private GgufArray(GgufValueType elementType, Object values, int length) {
        this.elementType = elementType;
        this.values = values;
        this.length = length;
    }

    /** Wraps without copying; the caller hands over ownership. */
    static GgufArray wrap(GgufValueType elementType, Object values) {
        int length = switch (values) {
            case byte[] a -> a.length;
            case boolean[] a -> a.length;
            case short[] a -> a.length;
            case int[] a -> a.length;
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case Object[] a -> a.length;
            default -> throw new IllegalArgumentException("not an array: " + values);
        };
        return new GgufArray(elementType, values, length);
    }

    public static GgufArray ofUInt8(byte... v) {
        return wrap(GgufValueType.UINT8, v.clone());
    }

    public static GgufArray ofInt8(byte... v) {
        return wrap(GgufValueType.INT8, v.clone());
    }

    public static GgufArray ofUInt16(short... v) {
        return wrap(GgufValueType.UINT16, v.clone());
    }

    public static GgufArray ofInt16(short... v) {
        return wrap(GgufValueType.INT16, v.clone());
    }

    public static GgufArray ofUInt32(int... v) {
        return wrap(GgufValueType.UINT32, v.clone());
    }

    public static GgufArray ofInt32(int... v) {
        return wrap(GgufValueType.INT32, v.clone());
    }

    public static GgufArray ofUInt64(long... v) {
        return wrap(GgufValueType.UINT64, v.clone());
    }

    public static GgufArray ofInt64(long... v) {
        return wrap(GgufValueType.INT64, v.clone());
    }

    public static GgufArray ofFloat32(float... v) {
        return wrap(GgufValueType.FLOAT32, v.clone());
    }

    public static GgufArray ofFloat64(double... v) {
        return wrap(GgufValueType.FLOAT64, v.clone());
    }

    public static GgufArray ofBool(boolean... v) {
        return wrap(GgufValueType.BOOL, v.clone());
    }

    public static GgufArray ofStrings(String... v) {
        for (String s : v) {
            Objects.requireNonNull(s, "null string in a GGUF array");
        }
        return wrap(GgufValueType.STRING, v.clone());
    }

    public static GgufArray ofArrays(GgufArray... v) {
        for (GgufArray a : v) {
            Objects.requireNonNull(a, "null element in a GGUF array of arrays");
        }
        return wrap(GgufValueType.ARRAY, v.clone());
    }

    public GgufValueType elementType() {
        return elementType;
    }

    public int length() {
        return length;
    }

    /** The backing array, not copied: for readers and writers of this package only. */
    Object raw() {
        return values;
    }

    /** Element i of an integer array, unsigned types widened (a uint64 above 2^63 comes back negative). */
    public long getLong(int i) {
        return switch (elementType) {
            case UINT8 -> ((byte[]) values)[i] & 0xFFL;
            case INT8 -> ((byte[]) values)[i];
            case UINT16 -> ((short[]) values)[i] & 0xFFFFL;
            case INT16 -> ((short[]) values)[i];
            case UINT32 -> ((int[]) values)[i] & 0xFFFF_FFFFL;
            case INT32 -> ((int[]) values)[i];
            case UINT64, INT64 -> ((long[]) values)[i];
            default -> throw new IllegalStateException("an array of " + elementType + " holds no integers");
        };
    }

    /** Element i of a numeric array as a double (uint64 read unsigned). */
    public double getDouble(int i) {
        return switch (elementType) {
            case FLOAT32 -> ((float[]) values)[i];
            case FLOAT64 -> ((double[]) values)[i];
            case UINT64 -> unsignedToDouble(((long[]) values)[i]);
            default -> getLong(i);
        };
    }

    public String getString(int i) {
        requireType(GgufValueType.STRING);
        return ((String[]) values)[i];
    }

    public boolean getBoolean(int i) {
        requireType(GgufValueType.BOOL);
        return ((boolean[]) values)[i];
    }

    public GgufArray getArray(int i) {
        requireType(GgufValueType.ARRAY);
        return ((GgufArray[]) values)[i];
    }

    public String[] toStringArray() {
        requireType(GgufValueType.STRING);
        return ((String[]) values).clone();
    }

    public boolean[] toBooleanArray() {
        requireType(GgufValueType.BOOL);
        return ((boolean[]) values).clone();
    }

    public GgufArray[] toArrays() {
        requireType(GgufValueType.ARRAY);
        return ((GgufArray[]) values).clone();
    }

    /** The elements of a numeric array as floats (integers converted, float64 rounded). */
    public float[] toFloatArray() {
        if (elementType == GgufValueType.FLOAT32) {
            return ((float[]) values).clone();
        }
        requireNumeric();
        float[] out = new float[length];
        for (int i = 0; i < length; i++) {
            out[i] = (float) getDouble(i);
        }
        return out;
    }

    public double[] toDoubleArray() {
        requireNumeric();
        double[] out = new double[length];
        for (int i = 0; i < length; i++) {
            out[i] = getDouble(i);
        }
        return out;
    }

    /** The elements of an integer array; a uint64 above 2^63 throws {@link ArithmeticException}. */
    public long[] toLongArray() {
        if (elementType == GgufValueType.INT64) {
            return ((long[]) values).clone();
        }
        long[] out = new long[length];
        for (int i = 0; i < length; i++) {
            out[i] = getLong(i);
            if (elementType == GgufValueType.UINT64 && out[i] < 0) {
                throw new ArithmeticException("element " + i + " (" + Long.toUnsignedString(out[i])
                        + ") does not fit in a signed 64-bit integer");
            }
        }
        return out;
    }

    /** The elements of an integer array; one outside the int range throws {@link ArithmeticException}. */
    public int[] toIntArray() {
        if (elementType == GgufValueType.INT32) {
            return ((int[]) values).clone();
        }
        int[] out = new int[length];
        for (int i = 0; i < length; i++) {
            long v = getLong(i);
            if (v != (int) v || (elementType == GgufValueType.UINT64 && v < 0)) {
                String shown = elementType == GgufValueType.UINT64 ? Long.toUnsignedString(v) : Long.toString(v);
                throw new ArithmeticException("element " + i + " (" + shown + ") does not fit in a 32-bit integer");
            }
            out[i] = (int) v;
        }
        return out;
    }

    static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    private void requireType(GgufValueType t) {
        if (elementType != t) {
            throw new IllegalStateException("an array of " + elementType + ", not of " + t);
        }
    }

    private void requireNumeric() {
        if (!elementType.isInteger() && !elementType.isFloat()) {
            throw new IllegalStateException("an array of " + elementType + " is not numeric");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType
                && Arrays.deepEquals(new Object[] {values}, new Object[] {a.values});
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {values});
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(elementType.name()).append('[').append(length).append("]{");
        for (int i = 0; i < Math.min(length, 8); i++) {
            sb.append(i > 0 ? ", " : "").append(switch (elementType) {
                case STRING -> '"' + getString(i) + '"';
                case BOOL -> getBoolean(i);
                case ARRAY -> getArray(i);
                case FLOAT32, FLOAT64 -> getDouble(i);
                case UINT64 -> Long.toUnsignedString(getLong(i));
                default -> getLong(i);
            });
        }
        return sb.append(length > 8 ? ", ...}" : "}").toString();
    }
}
