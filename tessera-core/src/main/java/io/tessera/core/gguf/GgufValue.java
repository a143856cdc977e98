package io.tessera.core.gguf;

/**
 * One metadata value: integers as {@link Long} (unsigned widened, uint64 as its raw bits),
 * FLOAT32 as {@link Float}, FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as
 * {@link String}, ARRAY as {@link GgufArray}.
 */
record GgufValue(GgufValueType type, Object value) {
}
