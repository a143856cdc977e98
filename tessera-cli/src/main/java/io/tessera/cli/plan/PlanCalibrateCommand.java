package io.tessera.cli.plan;

import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.CalibrationSetup;
import io.tessera.planner.calibrate.ForwardStepTimer;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.report.CalibrationReportWriter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan calibrate}: this machine's peaks and Tessera's kernel efficiencies on it. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = "Measure this machine (memory bandwidth and matmul probes, the fork/join of a parallel operator) "
                + "and Tessera's own engine steps on a model (default: a synthetic Llama-3.2-1B, Q8_0), fit the "
                + "planner's CPU cost model, and save it as an accelerator catalog.")
public final class PlanCalibrateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    CalibrationOptions opts = new CalibrationOptions();
    @Option(names = "--model-file", description = "a GGUF model to time (default: a synthetic model of --shape)")
    Path modelFile;
    @Option(names = "--out", description = "calibration file to write (default ~/.tessera/cpu-calibration.json)")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        CalibrationSetup setup = opts.setup();
        Accelerator cpu = setup.probedCpu();
        CalibrationReportWriter.peaks(o, cpu, setup.threadCount());
        try (ForwardStepTimer timer = opts.timer(modelFile, opts.shape, spec.commandLine().getErr())) {
            CalibrationReportWriter.model(o, timer, true, false);
            Calibration.Result r = Calibration.calibrate(timer, cpu, opts.repeats);
            CalibrationReportWriter.fitted(o, r.accelerator().efficiency());
            CalibrationReportWriter.table(o, r.fit(), false, Double.NaN);
            Path file = out != null ? out : CalibrationSetup.defaultCalibrationFile();
            Calibration.save(file, r.accelerator(), "fitted by `tessera plan calibrate` on " + timer.shape().name()
                    + " with " + timer.threads() + " threads", timer.file(), r.fit());
            o.printf(Locale.ROOT, "saved %s in %.0f s (use: tessera plan validate, or --gpu cpu-local --catalog %s)%n",
                    file, (System.nanoTime() - t0) / 1e9, file);
        }
        return 0;
    }
}
