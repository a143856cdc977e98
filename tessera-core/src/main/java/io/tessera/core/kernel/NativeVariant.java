package io.tessera.core.kernel;

/**
 * The builds of the native kernel library (src/main/c/build.sh), widest last, each with the CPU
 * features it needs to run.
 */
public enum NativeVariant {
    GENERIC("generic", 0),
    AVX2("avx2", CpuFeatures.mask("avx2", "fma", "f16c")),
    AVX512("avx512", CpuFeatures.mask("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni"));

    private final String id;
    private final long needs;

    NativeVariant(String id, long needs) {
        this.id = id;
        this.needs = needs;
    }

    public String id() {
        return id;
    }

    public boolean runsOn(CpuFeatures cpu) {
        return cpu.has(needs);
    }

    /** The widest variant the CPU runs. */
    static NativeVariant best(CpuFeatures cpu) {
        NativeVariant best = GENERIC;
        for (NativeVariant v : values()) {
            if (v.runsOn(cpu)) {
                best = v;
            }
        }
        return best;
    }

    /** The variant of that name ({@link #id}); the error lists the names. */
    public static NativeVariant parse(String id) {
        for (NativeVariant v : values()) {
            if (v.id.equals(id)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown native kernel variant '" + id + "' (generic, avx2 or avx512)");
    }
}
