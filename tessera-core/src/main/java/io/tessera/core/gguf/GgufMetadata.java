package io.tessera.core.gguf;

import io.tessera.core.format.ModelFormatException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order. Getters are lenient on integer width (a
 * uint32 read with {@link #getInt} is fine) but strict on kind: a missing key, a string where a
 * number is expected, or a value out of range is a {@link ModelFormatException} naming the key.
 * The default-taking and {@code find} variants only forgive a missing key, never a wrong type.
 */
public final class GgufMetadata {

    private final Path file;
    private final Map<String, GgufValue> entries;

    GgufMetadata(Path file, LinkedHashMap<String, GgufValue> entries) {
        this.file = file;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** The file this metadata came from (named in errors). */
    public Path file() {
        return file;
    }

    /** All keys, in file order. */
    public Set<String> keys() {
        return entries.keySet();
    }

    public int size() {
        return entries.size();
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public GgufValueType type(String key) throws ModelFormatException {
        return entry(key).type();
    }

    /** The element type of an array value. */
    public GgufValueType arrayType(String key) throws ModelFormatException {
        return getArray(key).elementType();
    }

    /**
     * The raw value: a {@link Long} for every integer type (uint64 as raw bits), {@link Float},
     * {@link Double}, {@link Boolean}, {@link String} or {@link GgufArray}.
     */
    public Object value(String key) throws ModelFormatException {
        return entry(key).value();
    }

    Map<String, GgufValue> entries() {
        return entries;
    }

    // ---- strings and booleans

    public String getString(String key) throws ModelFormatException {
        return (String) typed(key, GgufValueType.STRING).value();
    }

    public String getString(String key, String defaultValue) throws ModelFormatException {
        return contains(key) ? getString(key) : defaultValue;
    }

    public Optional<String> findString(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getString(key)) : Optional.empty();
    }

    public boolean getBoolean(String key) throws ModelFormatException {
        return (Boolean) typed(key, GgufValueType.BOOL).value();
    }

    public boolean getBoolean(String key, boolean defaultValue) throws ModelFormatException {
        return contains(key) ? getBoolean(key) : defaultValue;
    }

    public Optional<Boolean> findBoolean(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getBoolean(key)) : Optional.empty();
    }

    // ---- integers

    /** Any integer type; a uint64 above 2^63 - 1 is out of range. */
    public long getLong(String key) throws ModelFormatException {
        GgufValue v = entry(key);
        if (!v.type().isInteger()) {
            throw wrongType(key, v.type(), "an integer");
        }
        long value = (Long) v.value();
        if (v.type() == GgufValueType.UINT64 && value < 0) {
            throw new ModelFormatException(file, field(key),
                    "value " + Long.toUnsignedString(value) + " does not fit in a signed 64-bit integer");
        }
        return value;
    }

    public long getLong(String key, long defaultValue) throws ModelFormatException {
        return contains(key) ? getLong(key) : defaultValue;
    }

    public OptionalLong findLong(String key) throws ModelFormatException {
        return contains(key) ? OptionalLong.of(getLong(key)) : OptionalLong.empty();
    }

    /** Any integer type whose value fits in an int. */
    public int getInt(String key) throws ModelFormatException {
        long value = getLong(key);
        if (value != (int) value) {
            throw new ModelFormatException(file, field(key), "value " + value + " does not fit in a 32-bit integer");
        }
        return (int) value;
    }

    public int getInt(String key, int defaultValue) throws ModelFormatException {
        return contains(key) ? getInt(key) : defaultValue;
    }

    public OptionalInt findInt(String key) throws ModelFormatException {
        return contains(key) ? OptionalInt.of(getInt(key)) : OptionalInt.empty();
    }

    // ---- floats: any numeric type reads as a float (some writers store e.g. rope_freq_base as an integer)

    public double getDouble(String key) throws ModelFormatException {
        GgufValue v = entry(key);
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            case FLOAT64 -> (Double) v.value();
            case UINT64 -> GgufArray.unsignedToDouble((Long) v.value());
            default -> {
                if (!v.type().isInteger()) {
                    throw wrongType(key, v.type(), "a number");
                }
                yield (Long) v.value();
            }
        };
    }

    public double getDouble(String key, double defaultValue) throws ModelFormatException {
        return contains(key) ? getDouble(key) : defaultValue;
    }

    public OptionalDouble findDouble(String key) throws ModelFormatException {
        return contains(key) ? OptionalDouble.of(getDouble(key)) : OptionalDouble.empty();
    }

    public float getFloat(String key) throws ModelFormatException {
        GgufValue v = entry(key);
        return v.type() == GgufValueType.FLOAT32 ? (Float) v.value() : (float) getDouble(key);
    }

    public float getFloat(String key, float defaultValue) throws ModelFormatException {
        return contains(key) ? getFloat(key) : defaultValue;
    }

    public Optional<Float> findFloat(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getFloat(key)) : Optional.empty();
    }

    // ---- arrays

    public GgufArray getArray(String key) throws ModelFormatException {
        return (GgufArray) typed(key, GgufValueType.ARRAY).value();
    }

    public Optional<GgufArray> findArray(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getArray(key)) : Optional.empty();
    }

    public String[] getStringArray(String key) throws ModelFormatException {
        return elementsOf(key, GgufValueType.STRING, "strings").toStringArray();
    }

    public Optional<String[]> findStringArray(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getStringArray(key)) : Optional.empty();
    }

    /** An array of any numeric type, as floats. */
    public float[] getFloatArray(String key) throws ModelFormatException {
        GgufArray a = getArray(key);
        if (!a.elementType().isFloat() && !a.elementType().isInteger()) {
            throw wrongElements(key, a, "numbers");
        }
        return a.toFloatArray();
    }

    public Optional<float[]> findFloatArray(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getFloatArray(key)) : Optional.empty();
    }

    /** An array of any integer type whose values fit in an int. */
    public int[] getIntArray(String key) throws ModelFormatException {
        GgufArray a = getArray(key);
        if (!a.elementType().isInteger()) {
            throw wrongElements(key, a, "integers");
        }
        try {
            return a.toIntArray();
        } catch (ArithmeticException e) {
            throw new ModelFormatException(file, field(key), e.getMessage());
        }
    }

    public Optional<int[]> findIntArray(String key) throws ModelFormatException {
        return contains(key) ? Optional.of(getIntArray(key)) : Optional.empty();
    }

    /** An array of any integer type; a uint64 above 2^63 - 1 is out of range. */
    public long[] getLongArray(String key) throws ModelFormatException {
        GgufArray a = getArray(key);
        if (!a.elementType().isInteger()) {
            throw wrongElements(key, a, "integers");
        }
        try {
            return a.toLongArray();
        } catch (ArithmeticException e) {
            throw new ModelFormatException(file, field(key), e.getMessage());
        }
    }

    // ---- helpers

    private GgufValue entry(String key) throws ModelFormatException {
        GgufValue v = entries.get(key);
        if (v == null) {
            throw new ModelFormatException(file, field(key), "is missing");
        }
        return v;
    }

    private GgufValue typed(String key, GgufValueType expected) throws ModelFormatException {
        GgufValue v = entry(key);
        if (v.type() != expected) {
            throw wrongType(key, v.type(), expected.description());
        }
        return v;
    }

    private GgufArray elementsOf(String key, GgufValueType elementType, String what) throws ModelFormatException {
        GgufArray a = getArray(key);
        if (a.elementType() != elementType) {
            throw wrongElements(key, a, what);
        }
        return a;
    }

    private ModelFormatException wrongType(String key, GgufValueType actual, String expected) {
        return new ModelFormatException(file, field(key), "is " + actual.description() + ", expected " + expected);
    }

    private ModelFormatException wrongElements(String key, GgufArray a, String expected) {
        return new ModelFormatException(file, field(key),
                "is an array of " + a.elementType().name().toLowerCase() + ", expected an array of " + expected);
    }

    static String field(String key) {
        return "key '" + key + "'";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        entries.forEach((k, v) -> sb.append(k).append(" = ").append(v.type() == GgufValueType.UINT64
                ? Long.toUnsignedString((Long) v.value()) : v.value()).append('\n'));
        return sb.toString();
    }
}
