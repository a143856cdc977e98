package io.tessera.benchmarks.serve;

import java.util.Locale;
import java.util.Random;

/**
 * When the requests of a serving benchmark are sent: the gap before each arrival, drawn from its own
 * seeded stream so that a run is repeatable and changing the prompts does not move the arrivals.
 *
 * <p>Every process has the mean rate it is given; they differ in how the gaps spread:
 * <ul>
 *   <li>{@code poisson}: exponential gaps (coefficient of variation 1), independent arrivals;</li>
 *   <li>{@code gamma}: gamma-distributed gaps of shape k (vLLM's {@code --burstiness}): k = 1 is
 *       Poisson, k &lt; 1 burstier (CV² = 1/k), k &gt; 1 more regular;</li>
 *   <li>{@code bursty}: groups of {@code burstSize} requests sent at the same instant, the groups
 *       arriving as a Poisson process at rate / burstSize;</li>
 *   <li>an infinite rate: every request at once (gap 0), bounded only by the concurrency.</li>
 * </ul>
 */
public interface ArrivalProcess {

    /** Seconds from the previous arrival (or the start, for the first) to the next. */
    double nextGap();

    /** The kinds {@link #of} accepts. */
    enum Kind {
        POISSON, GAMMA, BURSTY;

        public static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.name().equalsIgnoreCase(s.strip())) {
                    return k;
                }
            }
            throw new IllegalArgumentException("--arrivals: '" + s + "' is not poisson, gamma or bursty");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The process of {@code kind} at {@code rate} requests/s (infinite: all at once).
     *
     * @param burstiness the gamma shape (used by {@code GAMMA} only)
     * @param burstSize requests per burst (used by {@code BURSTY} only)
     */
    static ArrivalProcess of(Kind kind, double rate, double burstiness, int burstSize, long seed) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("--request-rate must be positive or inf, got " + rate);
        }
        // the parameters are checked even where the rate makes them moot, so a sweep fails before it starts
        if (kind == Kind.GAMMA && !(burstiness > 0 && burstiness < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("--burstiness must be a positive number, got " + burstiness);
        }
        if (kind == Kind.BURSTY && burstSize < 1) {
            throw new IllegalArgumentException("--burst-size must be at least 1, got " + burstSize);
        }
        if (rate == Double.POSITIVE_INFINITY) {
            return () -> 0;
        }
        Random rnd = new Random(seed);
        return switch (kind) {
            case POISSON -> () -> exponential(rnd) / rate;
            // shape k, scale 1/(k·rate): mean 1/rate
            case GAMMA -> () -> gamma(rnd, burstiness) / (burstiness * rate);
            case BURSTY -> {
                int[] position = {0};
                yield () -> position[0]++ % burstSize == 0 ? exponential(rnd) * burstSize / rate : 0;
            }
        };
    }

    private static double exponential(Random rnd) {
        return -Math.log(1 - rnd.nextDouble());
    }

    /**
     * A Gamma(shape, 1) variate: Marsaglia and Tsang's method for shape ≥ 1; below 1, a variate of
     * shape + 1 times U^(1/shape) (their boosting identity).
     */
    static double gamma(Random rnd, double shape) {
        if (shape < 1) {
            double u = rnd.nextDouble();
            return gamma(rnd, shape + 1) * Math.pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x;
            double v;
            do {
                x = rnd.nextGaussian();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = rnd.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }
}
