package io.tessera.planner.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.sim.LengthDist;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import io.tessera.planner.memory.Layout;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ExpertSearchTest {

    /** EP degrees: multiples of TP (doublings) that divide the experts and fit the devices; none for a dense model. */
    @Test
    void expertDegreesTried() throws IOException {
        var mixtral = ModelCatalog.resolve("mixtral-8x7b");
        assertEquals(List.of(1, 2, 4, 8), Search.expertDegrees(mixtral, 1, 1, 8));
        assertEquals(List.of(1, 2, 4, 8), Search.expertDegrees(mixtral, 2, 1, 8));
        assertEquals(List.of(1, 8), Search.expertDegrees(mixtral, 8, 1, 8));
        assertEquals(List.of(1, 2, 4), Search.expertDegrees(mixtral, 1, 2, 8));
        assertEquals(List.of(1, 2, 4, 8), Search.expertDegrees(mixtral, 1, 1, 64)); // not beyond 8 experts
        assertEquals(List.of(1, 2, 4, 8, 16, 32), Search.expertDegrees(ModelCatalog.resolve("deepseek-v3"), 1, 1, 32));
        assertEquals(List.of(1), Search.expertDegrees(ModelCatalog.resolve("llama-3.1-8b"), 1, 1, 8));
    }

    /**
     * Mixtral-8x7B on up to 8 H100s: the search weighs EP layouts (over the TP group and with
     * data-parallel attention) beside TP/PP ones, and each is ranked or given its reason.
     */
    @Test
    void searchWeighsExpertParallelLayouts() throws IOException {
        Search.Spec s = new Search.Spec(ModelCatalog.resolve("mixtral-8x7b"), AcceleratorCatalog.builtin().get("h100"), 8,
                1.0, 0.05, Workload.poisson(1, 40, LengthDist.parse("uniform:256:768"), LengthDist.parse("uniform:32:96"), 1),
                0, List.of(Precision.BF16), true, false, 0.9, new MemoryModel.Limits(2048, 64), 3, 40);
        Search.Result r = Search.run(s);
        assertFalse(r.ranked().isEmpty());
        List<Layout> weighed = Stream.concat(r.ranked().stream(), r.losers().stream())
                .filter(c -> c.memory() != null).map(c -> c.memory().layout()).toList();
        for (int[] tpPpEp : new int[][] {{1, 1, 8}, {2, 1, 8}, {2, 1, 2}, {8, 1, 8}, {1, 2, 4}, {1, 1, 1}}) {
            assertTrue(weighed.stream().anyMatch(l -> l.tp() == tpPpEp[0] && l.pp() == tpPpEp[1] && l.ep() == tpPpEp[2]),
                    java.util.Arrays.toString(tpPpEp) + " in " + weighed);
        }
        for (Candidate c : r.losers()) {
            assertTrue(c.reason() != null && !c.reason().isEmpty(), c.label());
        }
        // one instance over EP 8 needs 8 devices and holds one expert per device
        Candidate ep8 = Stream.concat(r.ranked().stream(), r.losers().stream())
                .filter(c -> c.label().contains("TP1 PP1 EP8") && c.memory() != null).findFirst().orElseThrow();
        assertEquals(1, ep8.memory().worst().routedExperts());
        assertEquals(8, ep8.memory().layout().devicesPerReplica());
    }
}
