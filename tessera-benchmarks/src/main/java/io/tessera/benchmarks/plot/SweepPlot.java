package io.tessera.benchmarks.plot;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The picture of a rate sweep: TPOT p99, TTFT p99 and SLO attainment against the offered request
 * rate, each with its SLO (or the attainment target) as a red line, and the goodput in the title.
 */
public final class SweepPlot {

    /**
     * One offered rate and what it gave.
     *
     * @param rateLabel the rate as written ("2", "inf")
     * @param tpotP99Ms NaN when no request had a second token
     * @param attainment the fraction of requests within the SLOs, NaN when no SLO was given
     */
    public record Point(String rateLabel, double tpotP99Ms, double ttftP99Ms, double attainment) {
    }

    private SweepPlot() {
    }

    /**
     * Writes the chart.
     *
     * @param tpotSloMs the TPOT limit to draw, NaN for none (likewise {@code ttftSloMs})
     * @param target the attainment target (0.9: DistServe's)
     */
    public static void write(Path file, List<Point> points, double tpotSloMs, double ttftSloMs, double target,
            String title, String subtitle) throws IOException {
        int width = 1000;
        int height = 900;
        List<String> labels = points.stream().map(Point::rateLabel).toList();
        ChartFile.write(file, width, height, title, c -> {
            c.rect(0, 0, width, height, "#ffffff");
            c.text(width / 2.0, 28, "tessera bench serve — " + title, 18, true, "middle");
            c.text(width / 2.0, 50, subtitle, 13, false, "middle");
            double w = width - 120;
            double h = 200;
            ChartParts.lineChart(c, 80, 90, w, h, "TPOT p99 (ms) vs request rate (req/s)", labels,
                    points.stream().mapToDouble(Point::tpotP99Ms).toArray(), "#d9822b", tpotSloMs, "TPOT SLO");
            ChartParts.lineChart(c, 80, 90 + h + 70, w, h, "TTFT p99 (ms) vs request rate (req/s)", labels,
                    points.stream().mapToDouble(Point::ttftP99Ms).toArray(), "#2f6fca", ttftSloMs, "TTFT SLO");
            ChartParts.lineChart(c, 80, 90 + 2 * (h + 70), w, h, "SLO attainment (%) vs request rate (req/s)", labels,
                    points.stream().mapToDouble(p -> p.attainment() * 100).toArray(), "#3a9d5d", target * 100,
                    "target");
        });
    }
}
