package io.tessera.cli;

import io.tessera.cli.plan.CalibrationOptions;
import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.EngineStepTimer;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan validate}: predicted against measured engine steps on this machine. */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Time Tessera's engine on steps not used by the calibration (decodes at several batch sizes and "
                + "contexts, prefills, a mixed step) and print the planner's prediction beside each.")
public final class PlanValidateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    CalibrationOptions opts = new CalibrationOptions();
    @Option(names = "--calibration", description = "file written by `tessera plan calibrate` (default ~/.tessera/cpu-calibration.json; calibrates first when missing)")
    Path calibration;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Path file = calibration != null ? calibration : CalibrationOptions.defaultCalibrationFile();
        try (EngineStepTimer timer = opts.timerFor(spec.commandLine().getErr())) {
            Accelerator cpu;
            if (Files.exists(file)) {
                cpu = AcceleratorCatalog.load(file).get("cpu-local");
                o.println("calibration: " + file);
            } else {
                o.println("no calibration at " + file + "; calibrating first");
                cpu = Calibration.calibrate(timer, opts.probedCpuFor(o), opts.repeatCount()).accelerator();
            }
            o.printf(Locale.ROOT, "model: %s, %.1fM parameters, %d threads; peaks %.1f GB/s, %.1f GFLOP/s%n", timer.shape().name(),
                    timer.shape().totalParams() / 1e6, timer.threads(), cpu.memoryBandwidthGbps(), cpu.bf16Tflops() * 1e3);
            List<Calibration.Row> rows = Calibration.validate(timer, cpu, Calibration.VALIDATION_STEPS, opts.repeatCount());
            table(o, rows);
        }
        return 0;
    }

    static void table(PrintWriter o, List<Calibration.Row> rows) {
        o.printf(Locale.ROOT, "%-36s %12s %12s %8s%n", "step", "predicted ms", "measured ms", "error");
        double decode = 0;
        double prefill = 0;
        int nd = 0;
        int np = 0;
        for (Calibration.Row r : rows) {
            o.printf(Locale.ROOT, "%-36s %12.2f %12.2f %+7.1f%%%n", r.plan().name(), r.predicted() * 1e3, r.measured() * 1e3,
                    100 * r.error());
            if (r.plan().chunk().length == 0) {
                decode += Math.abs(r.error());
                nd++;
            } else {
                prefill += Math.abs(r.error());
                np++;
            }
        }
        o.printf(Locale.ROOT, "mean |error|: decode steps %.1f%% (%d), prefill and mixed steps %.1f%% (%d)%n",
                nd == 0 ? 0 : 100 * decode / nd, nd, np == 0 ? 0 : 100 * prefill / np, np);
    }
}
