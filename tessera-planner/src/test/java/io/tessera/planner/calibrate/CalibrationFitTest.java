package io.tessera.planner.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.catalog.Efficiency;
import io.tessera.planner.cost.Batch;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrationFitTest {

    static final Accelerator CPU = AcceleratorCatalog.builtin().get("cpu-local");

    /** A machine whose steps follow the cost model exactly with known factors. */
    record ModelTimer(ModelSpec shape, Accelerator truth, double opSeconds) implements StepTimer {
        @Override
        public double weightBytesPerParam() {
            return 34.0 / 32;
        }

        @Override
        public double kvBytesPerValue() {
            return 4;
        }

        @Override
        public int threads() {
            return 2;
        }

        @Override
        public double seconds(StepPlan plan, int repeats) {
            return Calibration.costModel(this, truth, plan).seconds(plan.toBatch());
        }

        @Override
        public double operatorOverheadSeconds() {
            return opSeconds;
        }
    }

    static Accelerator truth() {
        Efficiency e = new Efficiency(0.3, 0.12, 0.05, 2.0, Calibration.ELEMENTWISE, 1.5, 20, 0, 0.8, 1);
        return CPU.withEfficiency(e);
    }

    @Test
    void fitRecoversTheFactorsOfAMachineThatFollowsTheModel() throws IOException {
        ModelSpec m = ModelCatalog.resolve("llama-3.2-1b");
        ModelTimer timer = new ModelTimer(m, truth(), 20e-6);
        Calibration.Result r = Calibration.calibrate(timer, CPU, 1);
        Efficiency e = r.accelerator().efficiency();
        assertEquals(0.3, e.gemmCompute(), 1e-6);
        assertEquals(0.12, e.weightStream(), 1e-6);
        assertEquals(0.05, e.attentionPrefill(), 1e-6);
        assertEquals(2.0, e.attentionDecode(), 1e-5);
        assertEquals(1.5, e.stepOverheadMs(), 1e-6);
        assertEquals(20, e.opOverheadUs(), 1e-9);
        for (Calibration.Row row : r.fit()) {
            assertEquals(0, row.error(), 1e-9, row.plan().name());
        }
        // and predicts steps it was not fitted on, on another model
        ModelTimer other = new ModelTimer(ModelCatalog.resolve("qwen2.5-7b"), truth(), 20e-6);
        for (Calibration.Row row : Calibration.validate(other, r.accelerator(), Calibration.validationSteps(other.shape().layers()), 1)) {
            assertEquals(0, row.error(), 1e-9, row.plan().name());
        }
    }

    /** Without overlap the step time is the fit terms weighted by the inverse factors. */
    @Test
    void termsWeightedByInverseFactorsAreTheStepTime() throws IOException {
        Accelerator a = truth();
        Efficiency e = a.efficiency();
        ModelSpec m = ModelCatalog.resolve("llama-3.2-1b");
        CostModel unit = new CostModel(m, Precision.FP32, Precision.FP32,
                a.withEfficiency(new Efficiency(1, 1, 1, 1, 1, 0, 0, 0, 0.8, 1)), Layout.of(1, 1), 34.0 / 32, 4);
        CostModel c = new CostModel(m, Precision.FP32, Precision.FP32, a, Layout.of(1, 1), 34.0 / 32, 4);
        for (Batch b : List.of(Batch.decodes(1, 100), Batch.decodes(16, 1000), Batch.prefill(1, 512),
                new Batch().addPrefill(256, 64, false).addDecode(300))) {
            double[] t = unit.terms(b);
            double expected = t[CostModel.T_STEP] * e.stepOverheadMs() * 1e-3 + t[CostModel.T_OPS] * e.opOverheadUs()
                    + t[CostModel.T_GEMM_FLOPS] / e.gemmCompute() + t[CostModel.T_WEIGHT_BYTES] / e.weightStream()
                    + t[CostModel.T_ATTN_FLOPS] / e.attentionPrefill() + t[CostModel.T_KV_BYTES] / e.attentionDecode()
                    + t[CostModel.T_ELEMENTWISE] / e.elementwise() + t[CostModel.T_COMM];
            assertEquals(expected, c.seconds(b), 1e-12 * expected);
        }
        // a decode step of a 16-layer model: 5 operators per layer and the head
        assertEquals((16 * 5 + 1) * 1e-6, unit.terms(Batch.decodes(1, 10))[CostModel.T_OPS], 1e-15);
    }

    /** The plain roofline (overlap 1) takes the slower of compute and memory, overlap 0 their sum. */
    @Test
    void overlapBlendsMaxAndSum() throws IOException {
        ModelSpec m = ModelCatalog.resolve("llama-3.1-8b");
        Accelerator h100 = AcceleratorCatalog.builtin().get("h100");
        Batch b = Batch.decodes(64, 2000);
        double max = new CostModel(m, Precision.BF16, Precision.BF16, h100, Layout.of(1, 1)).seconds(b);
        double sum = new CostModel(m, Precision.BF16, Precision.BF16,
                h100.withEfficiency(h100.efficiency().withOverlap(0)), Layout.of(1, 1)).seconds(b);
        assertTrue(sum > max * 1.05, sum + " vs " + max);
    }

    @Test
    void calibrationFileRoundTrips(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("cal.json");
        ModelTimer timer = new ModelTimer(ModelCatalog.resolve("llama-3.2-1b"), truth(), 20e-6);
        Calibration.Result r = Calibration.calibrate(timer, CPU, 1);
        Calibration.save(f, r.accelerator(), "test", dir.resolve("model.gguf"), r.fit());
        Accelerator back = AcceleratorCatalog.load(f).get("cpu-local");
        assertEquals(r.accelerator().efficiency(), back.efficiency());
        assertEquals(dir.resolve("model.gguf").toAbsolutePath(), Calibration.calibratedModel(f));
        assertTrue(Files.readString(f).contains("\"op_overhead_us\""));
    }
}
