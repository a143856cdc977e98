package io.tessera.planner.calibrate;

import io.tessera.planner.catalog.Accelerator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Steps the calibration did not use, predicted and measured on one model. On the calibration's own
 * model two fitted steps are measured again among them: a shared machine's speed drifts between
 * calibration and validation, and the ratio of their times now to their times then says by how
 * much ({@link #drift}; NaN when not measured).
 *
 * @param rows the validation steps, predicted against measured
 * @param again the re-measured fitted steps (empty on another model)
 * @param drift geometric mean of now / then over {@code again}: steps take x drift of their time at calibration
 */
public record Validation(List<Calibration.Row> rows, List<Remeasured> again, double drift) {

    /** A fitted step measured again: its time now and at calibration, seconds. */
    public record Remeasured(String step, double now, double then) {
    }

    /**
     * Times the validation steps (and, when {@code timer} runs the model the calibration in
     * {@code calibrationFile} was fitted on, the drift steps) round-robin, {@code repeats} runs each.
     */
    public static Validation run(StepTimer timer, Path modelFile, Accelerator calibrated, Path calibrationFile,
                                 int repeats) throws IOException {
        Path fittedOn = Calibration.calibratedModel(calibrationFile);
        Map<String, Double> fittedMillis = Calibration.fittedMillis(calibrationFile);
        int layers = timer.shape().layers();
        List<StepPlan> steps = new ArrayList<>(Calibration.validationSteps(layers));
        int n = steps.size();
        boolean sameModel = fittedOn != null && modelFile.toAbsolutePath().equals(fittedOn.toAbsolutePath());
        List<StepPlan> again = sameModel && !fittedMillis.isEmpty() ? Calibration.driftSteps(layers) : List.of();
        steps.addAll(again);
        double[] measured = timer.seconds(steps, repeats);
        List<Remeasured> re = new ArrayList<>();
        for (int k = 0; k < again.size(); k++) {
            Double then = fittedMillis.get(again.get(k).name());
            if (then != null) {
                re.add(new Remeasured(again.get(k).name(), measured[n + k], then / 1e3));
            }
        }
        return new Validation(Calibration.rows(timer, calibrated, steps.subList(0, n), Arrays.copyOf(measured, n)),
                List.copyOf(re), drift(re));
    }

    /**
     * These rows judged against a drift measured elsewhere in the same run (on the calibration's
     * model, when this is another one); a drift of its own is kept.
     */
    public Validation orDrift(double measuredElsewhere) {
        return Double.isNaN(drift) ? new Validation(rows, again, measuredElsewhere) : this;
    }

    /** Geometric mean of now / then; NaN for none. */
    static double drift(List<Remeasured> again) {
        if (again.isEmpty()) {
            return Double.NaN;
        }
        double log = 0;
        for (Remeasured r : again) {
            log += Math.log(r.now() / r.then());
        }
        return Math.exp(log / again.size());
    }

    /** The error summary of the rows, with the prediction scaled by the drift where it was measured. */
    public ErrorSummary summary() {
        return ErrorSummary.of(rows, drift);
    }
}
