package io.tessera.cli.plan;

import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.CalibrationSetup;
import io.tessera.planner.calibrate.ForwardStepTimer;
import io.tessera.planner.calibrate.Validation;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.report.CalibrationReportWriter;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
                + "contexts, prefills, a mixed step), on the calibration's model and on another one, and print the "
                + "planner's prediction beside each.")
public final class PlanValidateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;
    @Mixin
    CalibrationOptions opts = new CalibrationOptions();
    @Option(names = "--calibration", description = "file written by `tessera plan calibrate` (default ~/.tessera/cpu-calibration.json)")
    Path calibration;
    @Option(names = "--model-file", description = "GGUF models to time, repeatable (default: the calibration's model, "
            + "then a synthetic model of --other-shape)")
    List<Path> modelFiles;
    @Option(names = "--other-shape", defaultValue = "qwen2.5-0.5b", description = "the synthetic model not fitted on "
            + "(default ${DEFAULT-VALUE}); 'none' to skip")
    String otherShape;
    @Option(names = "--markdown", description = "print the tables as Markdown")
    boolean markdown;

    /** A model to time: a file, or a synthetic shape when the file is null. */
    private record Target(Path file, String shape) {
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Path file = calibration != null ? calibration : CalibrationSetup.defaultCalibrationFile();
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("no calibration at " + file + "; run `tessera plan calibrate` first");
        }
        Accelerator cpu = AcceleratorCatalog.load(file).get("cpu-local");
        o.printf(Locale.ROOT, "calibration: %s; peaks %.1f GB/s, %.1f GFLOP/s%n", file, cpu.memoryBandwidthGbps(),
                cpu.bf16Tflops() * 1e3);
        List<Target> targets = new ArrayList<>();
        if (modelFiles != null && !modelFiles.isEmpty()) {
            modelFiles.forEach(p -> targets.add(new Target(p, null)));
        } else {
            Path fitted = Calibration.calibratedModel(file);
            targets.add(new Target(fitted != null && Files.exists(fitted) ? fitted : null, opts.shape));
            if (!"none".equalsIgnoreCase(otherShape)) {
                targets.add(new Target(null, otherShape));
            }
        }
        // the machine's drift, measured on the calibration's model, also scales the other model's predictions
        double drift = Double.NaN;
        for (Target t : targets) {
            try (ForwardStepTimer timer = opts.timer(t.file(), t.shape(), spec.commandLine().getErr())) {
                CalibrationReportWriter.model(o, timer, false, true);
                Validation v = Validation.run(timer, timer.file(), cpu, file, opts.repeats).orDrift(drift);
                drift = v.drift();
                CalibrationReportWriter.validation(o, v, markdown);
            }
        }
        return 0;
    }
}
