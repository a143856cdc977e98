package io.tessera.planner.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.search.Mode;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.WorkloadParams;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** How the plan commands' strings become the planner's values, and what bad ones are told. */
class PlanInputsTest {

    @Test
    void durations() {
        assertEquals(0.05, Units.seconds("--tpot-slo", "50ms"), 1e-15);
        assertEquals(3e-4, Units.seconds("--tpot-slo", "300us"), 1e-15);
        assertEquals(1.5, Units.seconds("--ttft-slo", "1.5s"), 0);
        assertEquals(2, Units.seconds("--ttft-slo", " 2 "), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Units.seconds("--tpot-slo", "fast"));
        assertEquals("--tpot-slo: bad duration 'fast' (e.g. 1s, 50ms)", e.getMessage());
        assertEquals("1.23", Units.gb(1_234_000_000));
        assertEquals("-", Units.ms(Double.NaN));
        assertEquals("12.5", Units.ms(0.0125));
    }

    @Test
    void ratiosAndModes() {
        assertArrayEquals(new int[] {1, 2}, Deployment.parseRatio("--pd", "1:2"));
        for (String bad : new String[] {"1", "0:1", "a:b", "1:2:3", "-1:2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Deployment.parseRatio("--pd", bad));
            assertTrue(e.getMessage().startsWith("--pd wants P:D"), e.getMessage());
        }
        assertTrue(Mode.parse("Both").colocated() && Mode.parse("both").disaggregated());
        assertTrue(!Mode.parse("colocated").disaggregated() && !Mode.parse("disaggregated").colocated());
        assertThrows(IllegalArgumentException.class, () -> Mode.parse("sideways"));
    }

    @Test
    void workloads() throws IOException {
        WorkloadParams none = new WorkloadParams(null, 0, 0, 10, "100", "10", 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> none.build(false));
        assertEquals("give --rate, --concurrency or --trace", e.getMessage());
        assertEquals(1, none.build(true).rate(), 0);
        Workload closed = new WorkloadParams(null, 5, 4, 10, "100", "10", 1).build(false);
        assertTrue(closed.closedLoop());
        assertEquals(4, closed.concurrency());
        assertEquals(5, new WorkloadParams(null, 5, 0, 10, "100", "10", 1).targetRate(), 0);
    }
}
