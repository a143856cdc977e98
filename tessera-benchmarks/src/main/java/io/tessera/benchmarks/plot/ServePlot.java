package io.tessera.benchmarks.plot;

import io.tessera.benchmarks.Percentiles;
import io.tessera.benchmarks.serve.ServeOutcome;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The picture of a serving benchmark: histograms of TTFT, TPOT, ITL and end-to-end latency, and
 * output tokens/s and requests in flight over time. One drawing routine, two surfaces: a PNG
 * (Java2D, headless) or a self-contained HTML page with inline SVG.
 */
public final class ServePlot {

    private ServePlot() {
    }

    /** Output tokens per one-second bin since the start. */
    public static List<Long> throughputSeries(List<ServeOutcome> outcomes, long start, double elapsed) {
        int bins = Math.max(1, (int) Math.ceil(elapsed));
        long[] counts = new long[bins];
        synchronized (outcomes) {
            for (ServeOutcome o : outcomes) {
                if (!o.ok() || o.chunkNanos().isEmpty()) {
                    continue;
                }
                // spread the request's tokens over its text chunks
                double perChunk = (double) o.outputTokens() / o.chunkNanos().size();
                double carry = 0;
                for (long t : o.chunkNanos()) {
                    int b = (int) Math.min(bins - 1, Math.max(0, (t - start) / 1_000_000_000L));
                    carry += perChunk;
                    long whole = (long) carry;
                    counts[b] += whole;
                    carry -= whole;
                }
            }
        }
        List<Long> out = new ArrayList<>();
        for (long c : counts) {
            out.add(c);
        }
        return out;
    }

    private static double[] inFlight(List<ServeOutcome> outcomes, long start, int bins) {
        double[] v = new double[bins];
        for (ServeOutcome o : outcomes) {
            double s = (o.startNanos() - start) / 1e9;
            double e = s + o.e2e();
            for (int b = Math.max(0, (int) s); b < Math.min(bins, (int) Math.ceil(e)); b++) {
                double overlap = Math.min(e, b + 1) - Math.max(s, b);
                if (overlap > 0) {
                    v[b] += overlap;
                }
            }
        }
        return v;
    }

    /** Writes the picture of one load: {@code file} ending in .png, .svg or .html. */
    public static void write(Path file, List<ServeOutcome> outcomes, long start, double elapsed, String title)
            throws IOException {
        List<ServeOutcome> ok = new ArrayList<>();
        synchronized (outcomes) {
            for (ServeOutcome o : outcomes) {
                if (o.ok()) {
                    ok.add(o);
                }
            }
        }
        int failed = outcomes.size() - ok.size();
        ChartFile.write(file, 1200, 900, title, c -> draw(c, 1200, 900, ok, failed, start, elapsed, title));
    }

    private static void draw(Canvas c, int width, int height, List<ServeOutcome> ok, int failed,
            long start, double elapsed, String title) {
        c.rect(0, 0, width, height, "#ffffff");
        c.text(width / 2.0, 28, "tessera bench serve — " + title, 18, true, "middle");
        c.text(width / 2.0, 50, String.format(Locale.ROOT, "%d completed, %d failed in %.1f s", ok.size(), failed,
                elapsed), 13, false, "middle");
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        for (ServeOutcome o : ok) {
            ttft.add(o.ttft() * 1000);
            e2e.add(o.e2e() * 1000);
            if (!Double.isNaN(o.tpot())) {
                tpot.add(o.tpot() * 1000);
            }
            for (double d : o.itl()) {
                itl.add(d * 1000);
            }
        }
        double w = (width - 90) / 2.0;
        double h = 220;
        histogram(c, 40, 80, w, h, "TTFT (ms)", ttft, "#2f6fca");
        histogram(c, 70 + w, 80, w, h, "TPOT (ms)", tpot, "#d9822b");
        histogram(c, 40, 80 + h + 60, w, h, "Inter-token latency (ms)", itl, "#3a9d5d");
        histogram(c, 70 + w, 80 + h + 60, w, h, "End-to-end latency (ms)", e2e, "#9b4dca");
        int bins = Math.max(1, (int) Math.ceil(elapsed));
        List<Long> tp = throughputSeries(ok, start, elapsed);
        double[] tps = tp.stream().mapToDouble(Long::doubleValue).toArray();
        series(c, 40, 80 + 2 * (h + 60), width - 80, h - 40, "Output tokens/s (blue) and requests in flight (orange) "
                + "over time (s)", tps, inFlight(ok, start, bins));
    }

    private static void histogram(Canvas c, double x, double y, double w, double h, String title, List<Double> values,
            String color) {
        ChartParts.axes(c, x, y, w, h, title);
        if (values.isEmpty()) {
            c.text(x + w / 2, y + h / 2, "no data", 12, false, "middle");
            return;
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double lo = v[0];
        double hi = Percentiles.of(v, 99.5);
        if (hi <= lo) {
            hi = lo + 1;
        }
        int nb = 40;
        int[] counts = new int[nb];
        for (double d : v) {
            int b = (int) ((d - lo) / (hi - lo) * nb);
            counts[Math.max(0, Math.min(nb - 1, b))]++;
        }
        int max = 1;
        for (int k : counts) {
            max = Math.max(max, k);
        }
        double bw = w / nb;
        for (int i = 0; i < nb; i++) {
            double bh = (double) counts[i] / max * (h - 4);
            c.rect(x + i * bw + 1, y + h - bh, Math.max(1, bw - 2), bh, color);
        }
        for (int t = 0; t <= 4; t++) {
            double val = lo + (hi - lo) * t / 4;
            c.text(x + w * t / 4, y + h + 15, ChartParts.fmt(val), 11, false, t == 0 ? "start" : t == 4 ? "end" : "middle");
        }
        c.text(x + 4, y + 12, "max count " + max, 10, false, "start");
        double p50 = Percentiles.of(v, 50);
        double p99 = Percentiles.of(v, 99);
        c.text(x + w - 4, y + 12, "median " + ChartParts.fmt(p50) + " · p99 " + ChartParts.fmt(p99) + " · n " + v.length, 11, false, "end");
        markers(c, x, y, w, h, lo, hi, p50, "#222222");
        markers(c, x, y, w, h, lo, hi, Math.min(p99, hi), "#c0392b");
    }

    private static void markers(Canvas c, double x, double y, double w, double h, double lo, double hi, double v,
            String color) {
        double px = x + (v - lo) / (hi - lo) * w;
        c.line(px, y + 16, px, y + h, color, 1.5);
    }

    private static void series(Canvas c, double x, double y, double w, double h, String title, double[] a, double[] b) {
        ChartParts.axes(c, x, y, w, h, title);
        int n = a.length;
        double maxA = 1;
        double maxB = 1;
        for (int i = 0; i < n; i++) {
            maxA = Math.max(maxA, a[i]);
            maxB = Math.max(maxB, b[i]);
        }
        for (int i = 1; i < n; i++) {
            double x1 = x + w * (i - 1) / Math.max(1, n - 1);
            double x2 = x + w * i / Math.max(1, n - 1);
            c.line(x1, y + h - a[i - 1] / maxA * h, x2, y + h - a[i] / maxA * h, "#2f6fca", 1.6);
            c.line(x1, y + h - b[i - 1] / maxB * h, x2, y + h - b[i] / maxB * h, "#d9822b", 1.2);
        }
        c.text(x + 4, y + 12, "peak " + ChartParts.fmt(maxA) + " tok/s", 11, false, "start");
        c.text(x + w - 4, y + 12, "peak " + ChartParts.fmt(maxB) + " in flight", 11, false, "end");
        for (int t = 0; t <= 5; t++) {
            c.text(x + w * t / 5, y + h + 15, ChartParts.fmt((double) (n - 1) * t / 5), 11, false,
                    t == 0 ? "start" : t == 5 ? "end" : "middle");
        }
    }
}
