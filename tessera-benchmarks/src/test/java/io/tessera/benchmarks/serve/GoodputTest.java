package io.tessera.benchmarks.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Goodput from a rate sweep, as DistServe defines it, and the SLO checks behind it. */
class GoodputTest {

    private static Goodput.Point p(double rate, double attainment) {
        return new Goodput.Point(rate, attainment);
    }

    @Test
    void theHighestRateWhereTheTargetIsMet() {
        Goodput g = Goodput.of(List.of(p(1, 1.0), p(2, 0.97), p(4, 0.9), p(8, 0.6)), 0.9);
        assertEquals(4, g.rate(), "exactly 90% counts");
        assertEquals(8, g.firstFailingRate());
        // any order in, sorted by rate
        assertEquals(4, Goodput.of(List.of(p(8, 0.6), p(2, 0.97), p(4, 0.9), p(1, 1.0)), 0.9).rate());
    }

    @Test
    void aLuckyRateAboveAFailingOneDoesNotCount() {
        Goodput g = Goodput.of(List.of(p(1, 0.99), p(2, 0.85), p(4, 0.95)), 0.9);
        assertEquals(1, g.rate());
        assertEquals(2, g.firstFailingRate());
    }

    @Test
    void edgeCases() {
        Goodput all = Goodput.of(List.of(p(1, 1), p(2, 0.95), p(Double.POSITIVE_INFINITY, 0.91)), 0.9);
        assertEquals(Double.POSITIVE_INFINITY, all.rate());
        assertTrue(Double.isNaN(all.firstFailingRate()));
        assertEquals(Map.of("goodput_rps", "inf", "slo_target", 0.9), withoutNulls(all.toJson()));
        Goodput none = Goodput.of(List.of(p(0.5, 0.5), p(1, 0.95)), 0.9);
        assertEquals(0, none.rate(), "even the lowest rate fails");
        assertEquals(0.5, none.firstFailingRate());
        assertTrue(Double.isNaN(Goodput.of(List.of(), 0.9).rate()));
        assertEquals(1, Goodput.of(List.of(p(1, 1), p(2, Double.NaN)), 0.9).rate(), "a rate with no request fails");
        assertEquals(2, Goodput.of(List.of(p(1, 0.5), p(2, 0.5)), 0.5).rate(), "another target");
        for (double t : new double[] {0, -0.1, 1.01, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> Goodput.of(List.of(), t));
        }
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> m) {
        Map<String, Object> out = new java.util.HashMap<>(m);
        out.values().removeIf(java.util.Objects::isNull);
        return out;
    }

    private static ServeOutcome outcome(boolean ok, double ttft, double e2e, int outputTokens) {
        return new ServeOutcome(new ServePrompt(null, new int[] {3}, 1, outputTokens, 0), ok, ok ? null : "x", 0, ttft,
                e2e, List.of(), List.of(), 1, outputTokens);
    }

    @Test
    void attainmentCountsRequestsWithinEveryLimit() {
        Slo slo = Slo.parse(List.of("ttft:100", "tpot:10"));
        ServeOutcome good = outcome(true, 0.05, 0.05 + 9 * 0.009, 10);
        ServeOutcome slowFirst = outcome(true, 0.2, 0.2 + 9 * 0.005, 10);
        ServeOutcome slowTokens = outcome(true, 0.05, 0.05 + 9 * 0.02, 10);
        ServeOutcome oneToken = outcome(true, 0.09, 0.09, 1);
        ServeOutcome failed = outcome(false, Double.NaN, 1, 0);
        assertTrue(slo.met(good) && slo.met(oneToken));
        assertTrue(!slo.met(slowFirst) && !slo.met(slowTokens) && !slo.met(failed));
        assertEquals(0.4, slo.attainment(List.of(good, slowFirst, slowTokens, oneToken, failed)), 1e-12);
        assertTrue(Double.isNaN(slo.attainment(List.of())));
        assertEquals(1.0, Slo.parse(null).attainment(List.of(good, slowFirst)), "no limit: every completed request");
    }

    @Test
    void badLimitsAreNamed() {
        assertEquals("--goodput takes ttft:MS, tpot:MS or e2el:MS, got 'itl:5'",
                assertThrows(IllegalArgumentException.class, () -> Slo.parse(List.of("itl:5"))).getMessage());
        assertEquals("--goodput: the limit of ttft is not a number: 'fast'",
                assertThrows(IllegalArgumentException.class, () -> Slo.parse(List.of("ttft:fast"))).getMessage());
        assertEquals("--goodput: the limit of tpot must be a positive number of milliseconds, got -1",
                assertThrows(IllegalArgumentException.class, () -> Slo.parse(List.of("tpot:-1"))).getMessage());
        assertEquals("--goodput names ttft twice",
                assertThrows(IllegalArgumentException.class, () -> Slo.parse(List.of("ttft:1", "ttft:2"))).getMessage());
    }
}
