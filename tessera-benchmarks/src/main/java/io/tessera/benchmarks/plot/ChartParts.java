package io.tessera.benchmarks.plot;

import java.util.List;
import java.util.Locale;

/** The pieces the benchmark charts share: axes, number labels, a line chart over labelled points. */
final class ChartParts {

    private ChartParts() {
    }

    static void axes(Canvas c, double x, double y, double w, double h, String title) {
        c.text(x + w / 2, y - 8, title, 13, true, "middle");
        c.line(x, y + h, x + w, y + h, "#333333", 1);
        c.line(x, y, x, y + h, "#333333", 1);
    }

    static String fmt(double v) {
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    /**
     * A line through {@code values} at evenly spaced x positions labelled {@code xLabels}, from 0 to
     * the largest of the values and {@code limit}; {@code limit} (NaN for none) is drawn as a red
     * horizontal line labelled {@code limitLabel}. NaN values leave a gap.
     */
    static void lineChart(Canvas c, double x, double y, double w, double h, String title, List<String> xLabels,
            double[] values, String color, double limit, String limitLabel) {
        axes(c, x, y, w, h, title);
        double max = Double.isNaN(limit) ? 0 : limit;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                max = Math.max(max, v);
            }
        }
        if (max <= 0) {
            max = 1;
        }
        max *= 1.1;
        int n = values.length;
        double step = w / Math.max(1, n);
        double[] px = new double[n];
        for (int i = 0; i < n; i++) {
            px[i] = x + step * (i + 0.5);
            c.text(px[i], y + h + 15, xLabels.get(i), 11, false, "middle");
        }
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(values[i])) {
                continue;
            }
            double py = y + h - values[i] / max * h;
            c.rect(px[i] - 3, py - 3, 6, 6, color);
            c.text(px[i], py - 7, fmt(values[i]), 10, false, "middle");
            if (i > 0 && !Double.isNaN(values[i - 1])) {
                c.line(px[i - 1], y + h - values[i - 1] / max * h, px[i], py, color, 1.8);
            }
        }
        if (!Double.isNaN(limit)) {
            double ly = y + h - limit / max * h;
            c.line(x, ly, x + w, ly, "#c0392b", 1.2);
            c.text(x + w - 4, ly - 4, limitLabel, 10, false, "end");
        }
        for (int t = 0; t <= 4; t++) {
            c.text(x - 4, y + h - h * t / 4 + 4, fmt(max * t / 4), 10, false, "end");
        }
    }
}
