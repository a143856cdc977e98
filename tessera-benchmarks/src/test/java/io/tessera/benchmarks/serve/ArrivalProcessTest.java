package io.tessera.benchmarks.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.benchmarks.serve.ArrivalProcess.Kind;
import org.junit.jupiter.api.Test;

/** The arrival processes' statistics, from fixed seeds: mean rate and the spread of the gaps. */
class ArrivalProcessTest {

    private static final int N = 50_000;

    private static double[] gaps(ArrivalProcess p) {
        double[] g = new double[N];
        for (int i = 0; i < N; i++) {
            g[i] = p.nextGap();
        }
        return g;
    }

    private static double mean(double[] g) {
        double s = 0;
        for (double x : g) {
            s += x;
        }
        return s / g.length;
    }

    /** Squared coefficient of variation: variance over the squared mean. */
    private static double cv2(double[] g) {
        double m = mean(g);
        double v = 0;
        for (double x : g) {
            v += (x - m) * (x - m);
        }
        return v / (g.length - 1) / (m * m);
    }

    @Test
    void poissonGapsAreExponentialAtTheRate() {
        double[] g = gaps(ArrivalProcess.of(Kind.POISSON, 5, 1, 1, 42));
        assertEquals(0.2, mean(g), 0.2 * 0.02);
        assertEquals(1.0, cv2(g), 0.05);
        // exponential: P(gap > mean) = e^-1
        long over = java.util.Arrays.stream(g).filter(x -> x > 0.2).count();
        assertEquals(Math.exp(-1), (double) over / N, 0.01);
        assertTrue(java.util.Arrays.stream(g).allMatch(x -> x >= 0));
    }

    @Test
    void gammaKeepsTheRateAndSpreadsByItsShape() {
        for (double shape : new double[] {0.25, 0.5, 1, 4}) {
            double[] g = gaps(ArrivalProcess.of(Kind.GAMMA, 8, shape, 1, 7));
            assertEquals(1.0 / 8, mean(g), 0.125 * 0.03, "mean gap at shape " + shape);
            // CV² of a gamma variate is 1/shape: burstier below 1, more regular above
            assertEquals(1 / shape, cv2(g), 0.1 / shape, "CV² at shape " + shape);
        }
    }

    @Test
    void burstyArrivalsComeInGroupsAtTheMeanRate() {
        double[] g = gaps(ArrivalProcess.of(Kind.BURSTY, 10, 1, 5, 3));
        for (int i = 0; i < N; i++) {
            if (i % 5 == 0) {
                assertTrue(g[i] > 0, "a burst starts after a gap");
            } else {
                assertEquals(0, g[i], "the rest of a burst comes at once");
            }
        }
        assertEquals(0.1, mean(g), 0.1 * 0.03);
        // bursts as a Poisson process at rate/size: gaps between bursts are exponential of mean size/rate
        double[] between = new double[N / 5];
        for (int i = 0; i < between.length; i++) {
            between[i] = g[5 * i];
        }
        assertEquals(0.5, mean(between), 0.5 * 0.04);
        assertEquals(1.0, cv2(between), 0.08);
    }

    @Test
    void anInfiniteRateSendsEverythingAtOnce() {
        ArrivalProcess p = ArrivalProcess.of(Kind.GAMMA, Double.POSITIVE_INFINITY, 0.5, 1, 1);
        for (int i = 0; i < 100; i++) {
            assertEquals(0, p.nextGap());
        }
    }

    @Test
    void aSeedRepeatsItsArrivals() {
        double[] a = gaps(ArrivalProcess.of(Kind.GAMMA, 3, 0.5, 1, 11));
        double[] b = gaps(ArrivalProcess.of(Kind.GAMMA, 3, 0.5, 1, 11));
        double[] c = gaps(ArrivalProcess.of(Kind.GAMMA, 3, 0.5, 1, 12));
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
        assertNotEquals(a[0], c[0]);
    }

    @Test
    void badParametersAreNamed() {
        for (double rate : new double[] {0, -1, Double.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ArrivalProcess.of(Kind.POISSON, rate, 1, 1, 0));
            assertTrue(e.getMessage().startsWith("--request-rate must be positive or inf"), e.getMessage());
        }
        for (double shape : new double[] {0, -2, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ArrivalProcess.of(Kind.GAMMA, 1, shape, 1, 0));
            assertTrue(e.getMessage().startsWith("--burstiness must be a positive number"), e.getMessage());
        }
        // checked at an infinite rate too, where they do not matter, so that a sweep fails before it starts
        assertThrows(IllegalArgumentException.class, () -> ArrivalProcess.of(Kind.GAMMA, Double.POSITIVE_INFINITY, 0,
                1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ArrivalProcess.of(Kind.BURSTY, Double.POSITIVE_INFINITY, 1, 0, 0));
        assertEquals("--burst-size must be at least 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Kind.parse("weibull"));
        assertEquals("--arrivals: 'weibull' is not poisson, gamma or bursty", e.getMessage());
        assertEquals(Kind.GAMMA, Kind.parse(" Gamma "));
    }
}
