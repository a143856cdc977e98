package io.tessera.planner.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.calibrate.CalibrationFitTest.ModelTimer;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.report.CalibrationReportWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidationTest {

    /** The machine of {@link ModelTimer}, every step {@code factor} times slower. */
    record SlowerTimer(ModelTimer base, double factor) implements StepTimer {
        @Override
        public ModelSpec shape() {
            return base.shape();
        }

        @Override
        public double weightBytesPerParam() {
            return base.weightBytesPerParam();
        }

        @Override
        public double kvBytesPerValue() {
            return base.kvBytesPerValue();
        }

        @Override
        public int threads() {
            return base.threads();
        }

        @Override
        public double seconds(StepPlan plan, int repeats) {
            return base.seconds(plan, repeats) * factor;
        }
    }

    /**
     * The calibration's own model re-measures two fitted steps; a machine now 25% slower shows as
     * a drift of exactly 1.25, every raw error is 1/1.25 - 1 = -20% and none is left at today's speed.
     * Another model measures no drift of its own.
     */
    @Test
    void driftIsTheRatioOfFittedStepsNowToThen(@TempDir Path dir) throws IOException {
        ModelTimer timer = new ModelTimer(ModelCatalog.resolve("llama-3.2-1b"), CalibrationFitTest.truth(), 20e-6);
        Calibration.Result fit = Calibration.calibrate(timer, CalibrationFitTest.CPU, 1);
        Path file = dir.resolve("cal.json");
        Path model = dir.resolve("model.gguf");
        Calibration.save(file, fit.accelerator(), "test", model, fit.fit());

        Validation v = Validation.run(new SlowerTimer(timer, 1.25), model, fit.accelerator(), file, 1);
        assertEquals(2, v.again().size());
        assertEquals(1.25, v.drift(), 1e-9);
        assertEquals(Calibration.validationSteps(16).size(), v.rows().size());
        for (Calibration.Row r : v.rows()) {
            assertEquals(-0.2, r.error(), 1e-9, r.plan().name());
            assertEquals(0, ErrorSummary.driftAdjustedError(r, v.drift()), 1e-9, r.plan().name());
        }
        ErrorSummary s = v.summary();
        assertEquals(0.2, s.worst(), 1e-9);
        assertEquals(0, s.driftAdjustedMean(), 1e-9);

        Validation other = Validation.run(new SlowerTimer(timer, 1.25), dir.resolve("other.gguf"), fit.accelerator(), file, 1);
        assertTrue(other.again().isEmpty());
        assertTrue(Double.isNaN(other.drift()));
        assertEquals(1.25, other.orDrift(v.drift()).drift(), 0);
        assertEquals(1.25, v.orDrift(3).drift(), 0);
    }

    /**
     * Summary and table of three hand-made rows: decode +10% and -20%, prefill -10%. Decode mean
     * 15%, prefill 10%, worst 20%; at a drift of 1.25 the errors become +37.5%, 0% and +12.5%
     * (mean 16.7%).
     */
    @Test
    void summaryAndTableByHand() {
        List<Calibration.Row> rows = List.of(
                new Calibration.Row(StepPlan.decode(1, 64), 0.110, 0.100),
                new Calibration.Row(StepPlan.decode(4, 512), 0.200, 0.250),
                new Calibration.Row(StepPlan.prefill(16, 0), 0.180, 0.200));
        ErrorSummary s = ErrorSummary.of(rows, 1.25);
        assertEquals(0.15, s.decodeMean(), 1e-12);
        assertEquals(2, s.decodeSteps());
        assertEquals(0.10, s.prefillMean(), 1e-12);
        assertEquals(1, s.prefillSteps());
        assertEquals(0.20, s.worst(), 1e-12);
        assertEquals((0.375 + 0 + 0.125) / 3, s.driftAdjustedMean(), 1e-12);
        assertTrue(Double.isNaN(ErrorSummary.of(rows, Double.NaN).driftAdjustedMean()));

        StringWriter text = new StringWriter();
        CalibrationReportWriter.table(new PrintWriter(text), rows, true, 1.25);
        String t = text.toString();
        assertTrue(t.contains("| decode b=1 ctx=64 | 110.0 | 100.0 | +10.0% | +37.5% |"), t);
        assertTrue(t.contains("| prefill 16 | 180.0 | 200.0 | -10.0% | +12.5% |"), t);
        assertTrue(t.contains("mean |error|: decode steps 15.0% (2), prefill and mixed steps 10.0% (1); worst 20.0%; "
                + "at today's speed (x1.25) 16.7% overall"), t);
        StringWriter plain = new StringWriter();
        CalibrationReportWriter.table(new PrintWriter(plain), rows, false, Double.NaN);
        assertTrue(!plain.toString().contains("today's speed"), plain.toString());
    }
}
