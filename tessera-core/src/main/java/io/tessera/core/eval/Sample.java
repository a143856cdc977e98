package io.tessera.core.eval;

import java.util.Arrays;

/** A growing list of per-token values with the summaries the reports give: mean, its standard error, quantiles. */
final class Sample {

    private double[] values = new double[1024];
    private int size;

    void add(double v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }

    int size() {
        return size;
    }

    double mean() {
        double s = 0;
        for (int i = 0; i < size; i++) {
            s += values[i];
        }
        return size == 0 ? Double.NaN : s / size;
    }

    /** Standard error of the mean: {@code sqrt((mean(x²) − mean(x)²) / (n − 1))}, as llama.cpp gives it. */
    double standardError() {
        if (size < 2) {
            return Double.NaN;
        }
        double m = mean();
        double ss = 0;
        for (int i = 0; i < size; i++) {
            double d = values[i] - m;
            ss += d * d;
        }
        return Math.sqrt(ss / size / (size - 1));
    }

    /** The value at quantile {@code q} (0..1), linear between the nearest ranks. */
    double quantile(double q) {
        if (size == 0) {
            return Double.NaN;
        }
        double[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        double pos = q * (size - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(size - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    double max() {
        return quantile(1);
    }
}
