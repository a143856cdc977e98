package io.tessera.benchmarks.serve;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Goodput as DistServe defines it: the highest request rate at which at least a target fraction
 * (90% by default) of requests meet every SLO, found from a sweep of offered rates.
 *
 * <p>A sweep measures a few rates, and a noisy run can pass at a rate above one that failed; the
 * goodput taken here is the highest rate that passes with every lower rate of the sweep passing
 * too, so one lucky run does not raise it. It is a lower bound at the sweep's resolution: the
 * true value lies below {@link #firstFailingRate} when that is known.
 *
 * @param rate the goodput in requests/s; 0 when even the lowest rate fails, NaN for an empty sweep
 * @param firstFailingRate the lowest rate that missed the target, NaN when none did
 * @param target the fraction of requests that must meet the SLOs
 */
public record Goodput(double rate, double firstFailingRate, double target) {

    /** One rate of a sweep: offered rate and the fraction of its requests that met the SLOs. */
    public record Point(double rate, double attainment) {
    }

    /** The goodput of a sweep's points, in any order. */
    public static Goodput of(List<Point> points, double target) {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("--slo-target must be in (0, 1], got " + target);
        }
        if (points.isEmpty()) {
            return new Goodput(Double.NaN, Double.NaN, target);
        }
        List<Point> sorted = new ArrayList<>(points);
        sorted.sort(Comparator.comparingDouble(Point::rate));
        double best = 0;
        for (Point p : sorted) {
            // NaN attainment (no request) is a miss
            if (!(p.attainment() >= target)) {
                return new Goodput(best, p.rate(), target);
            }
            best = p.rate();
        }
        return new Goodput(best, Double.NaN, target);
    }

    /** The JSON form; an infinite rate is written "inf". */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("goodput_rps", json(rate));
        m.put("first_failing_rate", Double.isNaN(firstFailingRate) ? null : json(firstFailingRate));
        m.put("slo_target", target);
        return m;
    }

    static Object json(double rate) {
        return Double.isInfinite(rate) ? "inf" : Double.isNaN(rate) ? null : (Object) rate;
    }
}
