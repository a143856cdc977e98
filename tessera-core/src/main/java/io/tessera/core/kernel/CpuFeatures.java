package io.tessera.core.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * The instruction-set extensions of this CPU that the operating system has enabled, as the native
 * library's {@code tsr_cpu_features} reports them (CPUID and XCR0); bit i is {@code NAMES[i]}.
 */
public record CpuFeatures(long bits) {

    static final String[] NAMES = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni",
        "avx512bf16", "avxvnni", "amx-tile", "amx-int8", "amx-bf16"};

    /** The mask of the named features; an unknown name is a programming error. */
    static long mask(String... names) {
        long m = 0;
        for (String n : names) {
            int i = List.of(NAMES).indexOf(n);
            if (i < 0) {
                throw new IllegalArgumentException("unknown CPU feature " + n);
            }
            m |= 1L << i;
        }
        return m;
    }

    public boolean has(long mask) {
        return (bits & mask) == mask;
    }

    /** The names of the features present, in the table's order. */
    public List<String> names() {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < NAMES.length; i++) {
            if ((bits >>> i & 1) != 0) {
                l.add(NAMES[i]);
            }
        }
        return l;
    }

    @Override
    public String toString() {
        List<String> n = names();
        return n.isEmpty() ? "none of " + String.join(", ", NAMES) : String.join(" ", n);
    }
}
