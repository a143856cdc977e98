package io.tessera.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.cost.Batch;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.cost.StepCost;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.sim.LengthDist;
import io.tessera.planner.sim.SimResult;
import io.tessera.planner.sim.Simulator;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatorTest {

    static final Simulator.Config CFG = Simulator.Config.defaults(1, 0.05);

    /** One request alone: TTFT is the prefill step, end-to-end adds one decode step per further token. */
    @Test
    void singleRequestIsTheSumOfItsSteps() throws IOException {
        CostModel cost = new CostModel(ModelCatalog.resolve("llama-3.1-8b"), Precision.BF16, Precision.BF16,
                AcceleratorCatalog.builtin().get("h100"), Layout.of(1, 1));
        int prompt = 1000;
        int output = 50;
        SimResult r = Simulator.colocated(CFG, cost, 1, 100_000,
                Workload.poisson(1, 1, LengthDist.fixed(prompt), LengthDist.fixed(output), 1));
        double ttft = cost.seconds(Batch.prefill(1, prompt));
        double e2e = ttft;
        for (int i = 1; i < output; i++) {
            e2e += cost.seconds(Batch.decodes(1, prompt + i));
        }
        assertEquals(1, r.completed());
        assertEquals(ttft, r.ttft()[0], 1e-12);
        assertEquals(e2e, r.e2e()[0], 1e-12);
        assertEquals((e2e - ttft) / (output - 1), r.tpot()[0], 1e-12);
    }

    /** A long prompt is chunked: ceil(prompt / budget) prefill steps before the first token. */
    @Test
    void chunkedPrefillTakesOneStepPerChunk() {
        StepCost unit = b -> 0.01;
        SimResult r = Simulator.colocated(CFG.withLimits(512, 256), unit, 1, 100_000,
                Workload.poisson(1, 1, LengthDist.fixed(2000), LengthDist.fixed(3), 1));
        assertEquals(4 * 0.01, r.ttft()[0], 1e-12);
        assertEquals(6 * 0.01, r.e2e()[0], 1e-12);
    }

    /** N requests at once, one sequence at a time: request k finishes after k services; throughput is 1/service. */
    @Test
    void saturatedQueueServesOneAfterAnother() {
        StepCost tau = b -> 0.1;
        int n = 20;
        int output = 5;
        Workload all = Workload.closed(n, n, LengthDist.fixed(100), LengthDist.fixed(output), 1);
        SimResult r = Simulator.colocated(CFG.withLimits(2048, 1), tau, 1, 100_000, all);
        double service = output * 0.1;
        assertEquals(n, r.completed());
        assertEquals(n * service, r.makespan(), 1e-9);
        assertEquals((n + 1) / 2.0 * service, SimResult.mean(r.e2e()), 1e-9);
        assertEquals(1 / service, r.requestThroughput(), 1e-9);
    }

    /** Poisson arrivals, deterministic service, one server: the M/D/1 mean wait rho / (2 mu (1 - rho)). */
    @Test
    void poissonQueueMatchesMd1() {
        double s = 0.01;
        double rho = 0.7;
        StepCost tau = b -> s;
        Workload w = Workload.poisson(rho / s, 40_000, LengthDist.fixed(10), LengthDist.fixed(1), 7);
        SimResult r = Simulator.colocated(CFG.withLimits(2048, 1), tau, 1, 100_000, w);
        double wait = rho * s / (2 * (1 - rho));
        double measured = SimResult.mean(r.ttft()) - s;
        assertEquals(wait, measured, 0.05 * wait, "M/D/1 wait");
    }

    /** Too few KV blocks for everyone: sequences get preempted, and all still finish. */
    @Test
    void kvLimitPreemptsAndRecovers() {
        StepCost tau = b -> 0.001 + 0.0001 * b.tokens;
        Workload w = Workload.closed(8, 32, LengthDist.fixed(64), LengthDist.fixed(64), 3);
        SimResult r = Simulator.colocated(CFG, tau, 1, 24, w); // 24 blocks of 16 tokens: 384 tokens
        assertEquals(32, r.completed());
        assertTrue(r.preemptions() > 0);
        SimResult roomy = Simulator.colocated(CFG, tau, 1, 10_000, w);
        assertEquals(0, roomy.preemptions());
    }

    /** Disaggregated: the decode side sees the transfer, TTFT is the prefill instance's alone. */
    @Test
    void disaggregatedHandsOverAfterTransfer() {
        StepCost p = b -> 0.2;
        StepCost d = b -> 0.01;
        var cfg = CFG.withTransfer(0.0001, 0.005);
        Simulator sim = new Simulator(cfg, List.of(new Simulator.LaneGroup(Simulator.Role.PREFILL, 1, p, 10_000),
                new Simulator.LaneGroup(Simulator.Role.DECODE, 1, d, 10_000)));
        SimResult r = sim.run(Workload.poisson(1, 1, LengthDist.fixed(100), LengthDist.fixed(11), 1));
        assertEquals(0.2, r.ttft()[0], 1e-12);
        assertEquals(0.2 + 0.005 + 0.01 + 10 * 0.01, r.e2e()[0], 1e-12);
    }

    @Test
    void sameSeedSameResult() {
        StepCost tau = b -> 0.001 + 1e-5 * b.tokens;
        Workload w = Workload.poisson(50, 500, LengthDist.parse("uniform:10:500"), LengthDist.parse("exp:50"), 11);
        SimResult a = Simulator.colocated(CFG, tau, 2, 1000, w);
        SimResult b = Simulator.colocated(CFG, tau, 2, 1000, w);
        assertEquals(a.makespan(), b.makespan());
        assertEquals(a.steps(), b.steps());
    }
}
