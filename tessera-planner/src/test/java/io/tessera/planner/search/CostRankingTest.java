package io.tessera.planner.search;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.LengthDist;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class CostRankingTest {

    static Search.Result result(ModelSpec m, Accelerator a, double targetRate, Object... layoutsAndGoodputs) {
        Workload w = Workload.poisson(1, 10, LengthDist.fixed(100), LengthDist.fixed(10), 1);
        Search.Spec s = new Search.Spec(m, a, 8, 1, 0.05, w, targetRate, List.of(Precision.BF16), true, false, 0.9,
                MemoryModel.Limits.DEFAULT, 5, 10);
        List<Candidate> ranked = new java.util.ArrayList<>();
        for (int i = 0; i < layoutsAndGoodputs.length; i += 2) {
            Layout l = (Layout) layoutsAndGoodputs[i];
            double g = (Double) layoutsAndGoodputs[i + 1];
            Deployment d = Deployment.colocated(m, Precision.BF16, a, l, l.dp(), MemoryModel.Limits.DEFAULT);
            ranked.add(new Candidate("colocated", d.label(), d, g / d.devices(), g, null, null, null, null));
        }
        return new Search.Result(s, ranked, List.of(), ranked.size(), 0);
    }

    /**
     * With the catalog's prices per device-hour: 2 x A10 at 4 req/s cost 2 x price / 3600 / 4 x 1e6
     * dollars per million requests, 1 x H100 at 9 req/s price / 3600 / 9 x 1e6.
     */
    @Test
    void cheapestPerRequestFirstOrPerHourAtATargetRate() throws IOException {
        ModelSpec m = ModelCatalog.resolve("llama-3.1-8b");
        AcceleratorCatalog c = AcceleratorCatalog.builtin();
        Accelerator a10 = c.priced("a10");
        Accelerator h100 = c.priced("h100");
        Search.Result ra = result(m, a10, 0, new Layout(2, 1, 1, 1), 4.0);
        Search.Result rh = result(m, h100, 0, new Layout(1, 1, 1, 1), 9.0);
        double perMillionA = 2 * a10.pricePerHour() / 3600 / 4 * 1e6;
        double perMillionH = h100.pricePerHour() / 3600 / 9 * 1e6;
        List<CostRanking.Row> rows = CostRanking.rank(List.of(ra, rh), 5);
        assertEquals(2, rows.size());
        CostRanking.Row first = perMillionA <= perMillionH ? rows.get(0) : rows.get(1);
        assertEquals(a10.name(), first.result().spec().accelerator().name());
        assertEquals(perMillionA, first.dollarsPerMillion(), 1e-9 * perMillionA);
        assertEquals(2 * a10.pricePerHour(), first.dollarsPerHour(), 1e-12);
        assertEquals(Math.min(perMillionA, perMillionH), rows.getFirst().dollarsPerMillion(), 1e-9);
        assertEquals(1, CostRanking.rank(List.of(ra, rh), 1).size());
        // with a target rate the hourly price of the deployment ranks: 3 x H100 against 4 x A10
        Search.Result ta = result(m, a10, 10, new Layout(2, 1, 2, 1), 10.0);
        Search.Result th = result(m, h100, 10, new Layout(1, 1, 3, 1), 27.0);
        List<CostRanking.Row> hourly = CostRanking.rank(List.of(ta, th), 5);
        double hourA = 4 * a10.pricePerHour();
        double hourH = 3 * h100.pricePerHour();
        assertEquals(Math.min(hourA, hourH), hourly.getFirst().dollarsPerHour(), 1e-12);
        assertEquals(Math.max(hourA, hourH), hourly.getLast().dollarsPerHour(), 1e-12);
    }
}
