package io.tessera.benchmarks;

import java.util.Arrays;
import java.util.Collection;

/** Percentiles of a sample, by linear interpolation between closest ranks (numpy's default). */
public final class Percentiles {

    private Percentiles() {
    }

    /** The p-th percentile (0-100) of an ascending array; NaN when it is empty. */
    public static double of(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double pos = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /** The values, ascending, NaNs left out. */
    public static double[] sorted(Collection<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).filter(v -> !Double.isNaN(v)).sorted().toArray();
    }

    /** The values, ascending. */
    public static double[] sorted(long[] values) {
        return Arrays.stream(values).asDoubleStream().sorted().toArray();
    }

    /** The arithmetic mean; NaN when empty. */
    public static double mean(double[] values) {
        return Arrays.stream(values).average().orElse(Double.NaN);
    }
}
