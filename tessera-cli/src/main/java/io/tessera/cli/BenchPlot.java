package io.tessera.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The picture of a serving benchmark: histograms of TTFT, TPOT, ITL and end-to-end latency, and
 * output tokens/s and requests in flight over time. One drawing routine, two surfaces: a PNG
 * (Java2D, headless) or a self-contained HTML page with inline SVG.
 */
final class BenchPlot {

    private BenchPlot() {
    }

    /** Output tokens per one-second bin since the start. */
    static List<Long> throughputSeries(List<BenchServeClient.Outcome> outcomes, long start, double elapsed) {
        int bins = Math.max(1, (int) Math.ceil(elapsed));
        long[] counts = new long[bins];
        synchronized (outcomes) {
            for (BenchServeClient.Outcome o : outcomes) {
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

    private static double[] inFlight(List<BenchServeClient.Outcome> outcomes, long start, int bins) {
        double[] v = new double[bins];
        for (BenchServeClient.Outcome o : outcomes) {
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

    interface Canvas {
        void rect(double x, double y, double w, double h, String color);

        void line(double x1, double y1, double x2, double y2, String color, double width);

        void text(double x, double y, String s, int size, boolean bold, String anchor);
    }

    static void write(Path file, List<BenchServeClient.Outcome> outcomes, long start, double elapsed, String title)
            throws IOException {
        List<BenchServeClient.Outcome> ok = new ArrayList<>();
        synchronized (outcomes) {
            for (BenchServeClient.Outcome o : outcomes) {
                if (o.ok()) {
                    ok.add(o);
                }
            }
        }
        int width = 1200;
        int height = 900;
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            draw(new Java2dCanvas(g), width, height, ok, outcomes.size() - ok.size(), start, elapsed, title);
            g.dispose();
            ImageIO.write(img, "png", file.toFile());
        } else if (name.endsWith(".html") || name.endsWith(".htm") || name.endsWith(".svg")) {
            SvgCanvas svg = new SvgCanvas();
            draw(svg, width, height, ok, outcomes.size() - ok.size(), start, elapsed, title);
            String doc = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + width + "\" height=\"" + height
                    + "\" font-family=\"sans-serif\">" + svg.sb + "</svg>";
            if (!name.endsWith(".svg")) {
                doc = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + esc(title)
                        + "</title></head><body style=\"margin:0\">" + doc + "</body></html>";
            }
            Files.writeString(file, doc, StandardCharsets.UTF_8);
        } else {
            throw new IllegalArgumentException("--plot takes a .png or .html file, got " + file);
        }
    }

    private static void draw(Canvas c, int width, int height, List<BenchServeClient.Outcome> ok, int failed,
            long start, double elapsed, String title) {
        c.rect(0, 0, width, height, "#ffffff");
        c.text(width / 2.0, 28, "tessera bench serve — " + title, 18, true, "middle");
        c.text(width / 2.0, 50, String.format(Locale.ROOT, "%d completed, %d failed in %.1f s", ok.size(), failed,
                elapsed), 13, false, "middle");
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        for (BenchServeClient.Outcome o : ok) {
            ttft.add(o.ttft() * 1000);
            e2e.add(o.e2e() * 1000);
            if (o.outputTokens() > 1) {
                tpot.add((o.e2e() - o.ttft()) / (o.outputTokens() - 1) * 1000);
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

    private static void axes(Canvas c, double x, double y, double w, double h, String title) {
        c.text(x + w / 2, y - 8, title, 13, true, "middle");
        c.line(x, y + h, x + w, y + h, "#333333", 1);
        c.line(x, y, x, y + h, "#333333", 1);
    }

    private static void histogram(Canvas c, double x, double y, double w, double h, String title, List<Double> values,
            String color) {
        axes(c, x, y, w, h, title);
        if (values.isEmpty()) {
            c.text(x + w / 2, y + h / 2, "no data", 12, false, "middle");
            return;
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double lo = v[0];
        double hi = BenchServeCommand.percentile(v, 99.5);
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
            c.text(x + w * t / 4, y + h + 15, fmt(val), 11, false, t == 0 ? "start" : t == 4 ? "end" : "middle");
        }
        c.text(x + 4, y + 12, "max count " + max, 10, false, "start");
        double p50 = BenchServeCommand.percentile(v, 50);
        double p99 = BenchServeCommand.percentile(v, 99);
        c.text(x + w - 4, y + 12, "median " + fmt(p50) + " · p99 " + fmt(p99) + " · n " + v.length, 11, false, "end");
        markers(c, x, y, w, h, lo, hi, p50, "#222222");
        markers(c, x, y, w, h, lo, hi, Math.min(p99, hi), "#c0392b");
    }

    private static void markers(Canvas c, double x, double y, double w, double h, double lo, double hi, double v,
            String color) {
        double px = x + (v - lo) / (hi - lo) * w;
        c.line(px, y + 16, px, y + h, color, 1.5);
    }

    private static void series(Canvas c, double x, double y, double w, double h, String title, double[] a, double[] b) {
        axes(c, x, y, w, h, title);
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
        c.text(x + 4, y + 12, "peak " + fmt(maxA) + " tok/s", 11, false, "start");
        c.text(x + w - 4, y + 12, "peak " + fmt(maxB) + " in flight", 11, false, "end");
        for (int t = 0; t <= 5; t++) {
            c.text(x + w * t / 5, y + h + 15, fmt((double) (n - 1) * t / 5), 11, false,
                    t == 0 ? "start" : t == 5 ? "end" : "middle");
        }
    }

    private static String fmt(double v) {
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final class SvgCanvas implements Canvas {
        final StringBuilder sb = new StringBuilder();

        @Override
        public void rect(double x, double y, double w, double h, String color) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                    x, y, w, h, color));
        }

        @Override
        public void line(double x1, double y1, double x2, double y2, String color, double width) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    + "stroke-width=\"%.1f\"/>", x1, y1, x2, y2, color, width));
        }

        @Override
        public void text(double x, double y, String s, int size, boolean bold, String anchor) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"%s text-anchor=\"%s\">%s</text>",
                    x, y, size, bold ? " font-weight=\"bold\"" : "", anchor, esc(s)));
        }
    }

    private static final class Java2dCanvas implements Canvas {
        final Graphics2D g;

        Java2dCanvas(Graphics2D g) {
            this.g = g;
        }

        @Override
        public void rect(double x, double y, double w, double h, String color) {
            g.setColor(Color.decode(color));
            g.fill(new java.awt.geom.Rectangle2D.Double(x, y, w, h));
        }

        @Override
        public void line(double x1, double y1, double x2, double y2, String color, double width) {
            g.setColor(Color.decode(color));
            g.setStroke(new BasicStroke((float) width));
            g.draw(new java.awt.geom.Line2D.Double(x1, y1, x2, y2));
        }

        @Override
        public void text(double x, double y, String s, int size, boolean bold, String anchor) {
            g.setColor(Color.decode("#222222"));
            g.setFont(new Font(Font.SANS_SERIF, bold ? Font.BOLD : Font.PLAIN, size));
            double w = g.getFontMetrics().stringWidth(s);
            double dx = switch (anchor) {
                case "middle" -> -w / 2;
                case "end" -> -w;
                default -> 0;
            };
            g.drawString(s, (float) (x + dx), (float) y);
        }
    }
}
