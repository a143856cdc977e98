package io.tessera.planner.report;

import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.ErrorSummary;
import io.tessera.planner.calibrate.StepTimer;
import io.tessera.planner.calibrate.Validation;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.Efficiency;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** Writes what {@code plan calibrate} and {@code plan validate} found: fitted factors, predicted against measured steps. */
public final class CalibrationReportWriter {

    private CalibrationReportWriter() {
    }

    /** The measured peaks of a probed CPU. */
    public static void peaks(PrintWriter out, Accelerator cpu, int threads) {
        out.printf(Locale.ROOT, "probes on %d threads: memory read %.1f GB/s, fp32 matmul %.1f GFLOP/s%n", threads,
                cpu.memoryBandwidthGbps(), cpu.bf16Tflops() * 1e3);
    }

    /** One line naming the timed model; with {@code bytesPerWeight} its storage size too. */
    public static void model(PrintWriter out, StepTimer timer, boolean bytesPerWeight, boolean leadingBlank) {
        out.printf(Locale.ROOT, "%smodel: %s, %d layers, %.1fM parameters, %s%d threads%n", leadingBlank ? "\n" : "",
                timer.shape().name(), timer.shape().layers(), timer.shape().totalParams() / 1e6,
                bytesPerWeight ? String.format(Locale.ROOT, "%.3f bytes/weight, ", timer.weightBytesPerParam()) : "",
                timer.threads());
        out.flush();
    }

    /** The fitted factors of a calibration. */
    public static void fitted(PrintWriter out, Efficiency e) {
        out.printf(Locale.ROOT, "fitted: step overhead %.2f ms, operator fork/join %.1f us (measured), "
                        + "weights at %.2f x read bandwidth, GEMM at %.3f x matmul peak, attention at %.3f x peak, "
                        + "KV reads at %.2f x bandwidth%n",
                e.stepOverheadMs(), e.opOverheadUs(), e.weightStream(), e.gemmCompute(), e.attentionPrefill(),
                e.attentionDecode());
    }

    /** A validation: the machine's drift when measured, then its table. */
    public static void validation(PrintWriter out, Validation v, boolean markdown) {
        if (!v.again().isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (Validation.Remeasured r : v.again()) {
                sb.append(String.format(Locale.ROOT, "%s%s %.0f ms now, %.0f ms at calibration", sb.isEmpty() ? "" : "; ",
                        r.step(), r.now() * 1e3, r.then() * 1e3));
            }
            out.printf(Locale.ROOT, "machine speed against the calibration: %s (steps take x%.2f)%n", sb, v.drift());
        }
        table(out, v.rows(), markdown, v.drift());
    }

    /**
     * The rows with their errors and the summary line; with a measured drift (not NaN) a second
     * error column compares the prediction scaled by it.
     */
    public static void table(PrintWriter out, List<Calibration.Row> rows, boolean markdown, double drift) {
        ErrorSummary s = ErrorSummary.of(rows, drift);
        boolean d = s.hasDrift();
        if (markdown) {
            out.println("| step | predicted ms | measured ms | error |" + (d ? " error at today's speed |" : ""));
            out.println("| --- | ---: | ---: | ---: |" + (d ? " ---: |" : ""));
        } else {
            out.printf(Locale.ROOT, "%-44s %12s %12s %8s%s%n", "step", "predicted ms", "measured ms", "error",
                    d ? "  error at today's speed" : "");
        }
        for (Calibration.Row r : rows) {
            String extra = d ? String.format(Locale.ROOT, markdown ? " %+.1f%% |" : "  %+7.1f%%",
                    100 * ErrorSummary.driftAdjustedError(r, drift)) : "";
            out.printf(Locale.ROOT, markdown ? "| %s | %.1f | %.1f | %+.1f%% |%s%n" : "%-44s %12.1f %12.1f %+7.1f%%%s%n",
                    r.plan().name(), r.predicted() * 1e3, r.measured() * 1e3, 100 * r.error(), extra);
        }
        out.printf(Locale.ROOT, "mean |error|: decode steps %.1f%% (%d), prefill and mixed steps %.1f%% (%d); worst %.1f%%%s%n",
                100 * s.decodeMean(), s.decodeSteps(), 100 * s.prefillMean(), s.prefillSteps(), 100 * s.worst(),
                d ? String.format(Locale.ROOT, "; at today's speed (x%.2f) %.1f%% overall", drift, 100 * s.driftAdjustedMean()) : "");
        out.flush();
    }
}
