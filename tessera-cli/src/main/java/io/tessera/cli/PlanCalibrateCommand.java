package io.tessera.cli;

import io.tessera.cli.plan.CalibrationOptions;
import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.EngineStepTimer;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.Efficiency;
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
        description = "Measure this machine (memory bandwidth and matmul probes) and Tessera's own engine steps on a "
                + "synthetic model, fit the planner's efficiency factors, and save them as an accelerator catalog.")
public final class PlanCalibrateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    CalibrationOptions opts = new CalibrationOptions();
    @Option(names = "--out", description = "calibration file to write (default ~/.tessera/cpu-calibration.json)")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Accelerator cpu = opts.probedCpuFor(o);
        try (EngineStepTimer timer = opts.timerFor(spec.commandLine().getErr())) {
            Calibration.Result r = Calibration.calibrate(timer, cpu, opts.repeatCount());
            Efficiency e = r.accelerator().efficiency();
            o.printf(Locale.ROOT, "model: %s, %.1fM parameters, %.3f bytes/weight, %d threads%n", timer.shape().name(),
                    timer.shape().totalParams() / 1e6, timer.weightBytesPerParam(), timer.threads());
            o.printf(Locale.ROOT, "fitted efficiencies: weight stream %.3f, GEMM compute %.3f, decode attention %.3f, prefill attention %.3f%n",
                    e.weightStream(), e.gemmCompute(), e.attentionDecode(), e.attentionPrefill());
            PlanValidateCommand.table(o, r.fit());
            Path file = out != null ? out : CalibrationOptions.defaultCalibrationFile();
            Calibration.save(file, r.accelerator(), "fitted by `tessera plan calibrate` on " + timer.shape().name()
                    + " with " + timer.threads() + " threads");
            o.println("saved " + file + " (use: tessera plan validate, or --gpu cpu-local --catalog " + file + ")");
        }
        return 0;
    }
}
