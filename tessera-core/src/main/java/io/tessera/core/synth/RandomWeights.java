package io.tessera.core.synth;

/**
 * Deterministic pseudo-random weights: each row of each tensor comes from its own generator seeded
 * by (seed, tensor name, row), so any row can be produced alone, in any order, on any thread, and
 * the same seed always gives the same file.
 */
public final class RandomWeights {

    private final long seed;

    public RandomWeights(long seed) {
        this.seed = seed;
    }

    /**
     * Fills dst[0, n) with values uniform in [-scale, scale) (standard deviation scale/√3).
     */
    public void fillRow(String tensor, long row, float[] dst, int n, float scale) {
        long state = mix(seed ^ mix(tensor.hashCode() * 0x9E3779B97F4A7C15L + row));
        for (int i = 0; i < n; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = mix(state);
            // 24 random bits → [0, 1) → [-1, 1)
            dst[i] = ((z >>> 40) * 0x1.0p-24f * 2f - 1f) * scale;
        }
    }

    /** SplitMix64's finaliser: a cheap, well-mixed 64-bit hash. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
