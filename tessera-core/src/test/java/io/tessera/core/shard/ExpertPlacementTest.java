package io.tessera.core.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExpertPlacementTest {

    @Test
    void contiguousRangesWithoutReplicas() {
        ExpertPlacement p = ExpertPlacement.contiguous(2, 8, 2);
        for (int e = 0; e < 8; e++) {
            assertArrayEquals(new int[] {e < 4 ? 0 : 1}, p.holders(1, e));
            assertEquals(e < 4 ? 0 : 1, p.target(1, e, 1, 5));
        }
        assertArrayEquals(new int[] {4, 4}, p.slotsPerRank(0));
    }

    /**
     * A skewed load (experts 0 and 1 take most tokens, both on rank 0 in the contiguous placement):
     * one replica slot per rank brings the largest rank's share close to the mean.
     */
    @Test
    void replicasOfHotExpertsLowerTheImbalance() {
        long[][] load = {{400, 300, 50, 50, 50, 50, 50, 50}, new long[8]};
        ExpertPlacement before = ExpertPlacement.contiguous(2, 8, 2);
        ExpertPlacement after = ExpertPlacement.balanced(load, 8, 2, 1);
        double b = before.imbalance(0, load[0]);
        double a = after.imbalance(0, load[0]);
        assertEquals(800.0 / 500, b, 1e-9);
        assertTrue(a < 1.1, "imbalance after " + a);
        // every expert is held somewhere, no rank over its slots, the hottest replicated
        for (int e = 0; e < 8; e++) {
            assertTrue(after.holders(0, e).length >= 1);
        }
        for (int n : after.slotsPerRank(0)) {
            assertTrue(n <= 5, "slots " + n);
        }
        assertEquals(2, after.holders(0, 0).length);
        // a token whose home holds a replica is computed at home; else by one of the holders
        int[] h = after.holders(0, 0);
        assertEquals(h[0], after.target(0, 0, h[0], 3));
        assertEquals(h[1], after.target(0, 0, h[1], 3));
        // a layer without load keeps the contiguous placement
        assertArrayEquals(before.holders(1, 5), after.holders(1, 5));
    }

    @Test
    void badPlacementsAreRefusedNamingTheExpert() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExpertPlacement.of(2, 2, new int[][][] {{{0}, {}}}));
        assertTrue(e.getMessage().contains("expert 1 of layer 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ExpertPlacement.of(2, 2, new int[][][] {{{0}, {2}}}));
        assertTrue(e.getMessage().contains("ranks [2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ExpertPlacement.contiguous(1, 2, 4));
        assertTrue(e.getMessage().contains("expert parallelism 4"), e.getMessage());
    }
}
