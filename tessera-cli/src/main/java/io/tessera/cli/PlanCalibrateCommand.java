package io.tessera.cli;

import io.tessera.cli.plan.CalibrationOptions;
import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.ForwardStepTimer;
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
        Accelerator cpu = opts.probedCpuFor(o);
        try (ForwardStepTimer timer = opts.timerFor(modelFile, opts.shape(), spec.commandLine().getErr())) {
            o.printf(Locale.ROOT, "model: %s, %d layers, %.1fM parameters, %.3f bytes/weight, %d threads%n",
                    timer.shape().name(), timer.shape().layers(), timer.shape().totalParams() / 1e6,
                    timer.weightBytesPerParam(), timer.threads());
            o.flush();
            Calibration.Result r = Calibration.calibrate(timer, cpu, opts.repeatCount());
            Efficiency e = r.accelerator().efficiency();
            o.printf(Locale.ROOT, "fitted: step overhead %.2f ms, operator fork/join %.1f us (measured), "
                            + "weights at %.2f x read bandwidth, GEMM at %.3f x matmul peak, attention at %.3f x peak, "
                            + "KV reads at %.2f x bandwidth%n",
                    e.stepOverheadMs(), e.opOverheadUs(), e.weightStream(), e.gemmCompute(), e.attentionPrefill(),
                    e.attentionDecode());
            PlanValidateCommand.table(o, r.fit(), false);
            Path file = out != null ? out : CalibrationOptions.defaultCalibrationFile();
            Calibration.save(file, r.accelerator(), "fitted by `tessera plan calibrate` on " + timer.shape().name()
                    + " with " + timer.threads() + " threads", timer.file(), r.fit());
            o.printf(Locale.ROOT, "saved %s in %.0f s (use: tessera plan validate, or --gpu cpu-local --catalog %s)%n",
                    file, (System.nanoTime() - t0) / 1e9, file);
        }
        return 0;
    }
}
