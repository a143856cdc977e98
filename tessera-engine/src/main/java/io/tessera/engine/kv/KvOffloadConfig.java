package io.tessera.engine.kv;

import java.nio.file.Path;

/**
 * Where evicted prefix-cache blocks go instead of being forgotten: tier 2 is memory off the Java
 * heap beyond the KV pool, tier 3 a local directory. Either may be absent; both are bounded.
 *
 * @param memoryBytes bytes of tier 2 (0: none)
 * @param directory tier 3's directory (null: none)
 * @param diskBytes bytes tier 3's files may take together (0 exactly when there is no directory)
 */
public record KvOffloadConfig(long memoryBytes, Path directory, long diskBytes) {

    public static final KvOffloadConfig NONE = new KvOffloadConfig(0, null, 0);

    public KvOffloadConfig {
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("KV offload memory must not be negative, got " + memoryBytes);
        }
        if (directory == null && diskBytes != 0) {
            throw new IllegalArgumentException("a KV offload disk size needs a KV offload directory");
        }
        if (directory != null && diskBytes <= 0) {
            throw new IllegalArgumentException("the KV offload directory " + directory
                    + " needs a positive size bound, got " + diskBytes);
        }
    }

    public boolean enabled() {
        return memoryBytes > 0 || directory != null;
    }
}
