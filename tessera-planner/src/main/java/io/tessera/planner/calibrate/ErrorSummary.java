package io.tessera.planner.calibrate;

import java.util.List;

/**
 * Mean absolute relative errors of predicted steps: decode-only steps apart from prefill and mixed
 * ones, the worst, and with a measured drift (steps now take x drift of their time at calibration)
 * the mean error of the predictions scaled by it.
 *
 * @param decodeMean mean |error| of decode-only steps (0 when none)
 * @param decodeSteps how many decode-only steps
 * @param prefillMean mean |error| of steps with a prefill chunk (0 when none)
 * @param prefillSteps how many such steps
 * @param worst the largest |error|
 * @param drift the drift factor, NaN when not measured
 * @param driftAdjustedMean mean |error| of predictions x drift over all steps (NaN without drift)
 */
public record ErrorSummary(double decodeMean, int decodeSteps, double prefillMean, int prefillSteps, double worst,
                           double drift, double driftAdjustedMean) {

    public static ErrorSummary of(List<Calibration.Row> rows, double drift) {
        double decode = 0;
        double prefill = 0;
        double worst = 0;
        double adjusted = 0;
        int nd = 0;
        int np = 0;
        for (Calibration.Row r : rows) {
            double e = Math.abs(r.error());
            worst = Math.max(worst, e);
            adjusted += Math.abs(driftAdjustedError(r, drift));
            if (r.plan().chunk().length == 0) {
                decode += e;
                nd++;
            } else {
                prefill += e;
                np++;
            }
        }
        return new ErrorSummary(nd == 0 ? 0 : decode / nd, nd, np == 0 ? 0 : prefill / np, np, worst, drift,
                Double.isNaN(drift) || rows.isEmpty() ? Double.NaN : adjusted / rows.size());
    }

    /** The row's relative error once its prediction is scaled by the drift (NaN without drift). */
    public static double driftAdjustedError(Calibration.Row r, double drift) {
        return Double.isNaN(drift) ? Double.NaN : (r.predicted() * drift - r.measured()) / r.measured();
    }

    public boolean hasDrift() {
        return !Double.isNaN(drift);
    }
}
