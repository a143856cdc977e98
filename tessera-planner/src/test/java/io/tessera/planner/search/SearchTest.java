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
import java.util.List;
import org.junit.jupiter.api.Test;

class SearchTest {

    static Search.Spec spec(int top) throws IOException {
        return new Search.Spec(ModelCatalog.resolve("llama-3.1-8b"), AcceleratorCatalog.builtin().get("a100-40g"), 4, 1.0,
                0.05, Workload.poisson(1, 60, LengthDist.parse("uniform:256:768"), LengthDist.parse("uniform:32:96"), 1), 0,
                List.of(Precision.BF16, Precision.INT8), true, true, 0.9, new MemoryModel.Limits(2048, 256), top, 60);
    }

    /** The ranking is the same run after run, and nothing left unsimulated could have entered it. */
    @Test
    void rankingIsDeterministicAndBoundsStayBelowIt() throws IOException {
        Search.Result a = Search.run(spec(3));
        Search.Result b = Search.run(spec(3));
        assertFalse(a.ranked().isEmpty());
        assertEquals(a.ranked().stream().map(Candidate::label).toList(), b.ranked().stream().map(Candidate::label).toList());
        assertEquals(a.ranked().stream().map(Candidate::goodput).toList(), b.ranked().stream().map(Candidate::goodput).toList());
        double last = a.ranked().getLast().goodputPerDevice();
        for (Candidate c : a.losers()) {
            if (c.reason() != null && c.reason().contains("closed-form bound")) {
                assertTrue(c.goodputPerDevice() <= last, c.label() + " bound " + c.goodputPerDevice() + " above " + last);
            }
        }
        for (int i = 1; i < a.ranked().size(); i++) {
            assertTrue(a.ranked().get(i).goodputPerDevice() <= a.ranked().get(i - 1).goodputPerDevice());
        }
    }

    /** With every candidate ranked (no pruning possible), the leaders are the same as with a short list. */
    @Test
    void pruningDoesNotChangeTheLeaders() throws IOException {
        Search.Result small = Search.run(spec(2));
        Search.Result all = Search.run(spec(1000));
        assertEquals(small.ranked().stream().map(Candidate::label).toList(),
                all.ranked().stream().limit(2).map(Candidate::label).toList());
        assertEquals(small.ranked().getFirst().goodput(), all.ranked().getFirst().goodput(), 0);
    }
}
