package io.tessera.cli;

import io.tessera.cli.plan.CalibrationOptions;
import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.EngineStepTimer;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
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

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Path file = calibration != null ? calibration : CalibrationOptions.defaultCalibrationFile();
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("no calibration at " + file + "; run `tessera plan calibrate` first");
        }
        Accelerator cpu = AcceleratorCatalog.load(file).get("cpu-local");
        o.printf(Locale.ROOT, "calibration: %s; peaks %.1f GB/s, %.1f GFLOP/s%n", file, cpu.memoryBandwidthGbps(),
                cpu.bf16Tflops() * 1e3);
        List<Path> files = new ArrayList<>();
        List<String> shapes = new ArrayList<>();
        if (modelFiles != null && !modelFiles.isEmpty()) {
            for (Path p : modelFiles) {
                files.add(p);
                shapes.add(null);
            }
        } else {
            Path fitted = Calibration.calibratedModel(file);
            files.add(fitted != null && Files.exists(fitted) ? fitted : null);
            shapes.add(opts.shape());
            if (!"none".equalsIgnoreCase(otherShape)) {
                files.add(null);
                shapes.add(otherShape);
            }
        }
        for (int i = 0; i < files.size(); i++) {
            try (EngineStepTimer timer = opts.timerFor(files.get(i), shapes.get(i), spec.commandLine().getErr())) {
                o.printf(Locale.ROOT, "%nmodel: %s, %d layers, %.1fM parameters, %d threads%n", timer.shape().name(),
                        timer.shape().layers(), timer.shape().totalParams() / 1e6, timer.threads());
                o.flush();
                List<Calibration.Row> rows = Calibration.validate(timer, cpu,
                        Calibration.validationSteps(timer.shape().layers()), opts.repeatCount());
                table(o, rows, markdown);
            }
        }
        return 0;
    }

    static void table(PrintWriter o, List<Calibration.Row> rows, boolean markdown) {
        if (markdown) {
            o.println("| step | predicted ms | measured ms | error |");
            o.println("| --- | ---: | ---: | ---: |");
        } else {
            o.printf(Locale.ROOT, "%-44s %12s %12s %8s%n", "step", "predicted ms", "measured ms", "error");
        }
        double decode = 0;
        double prefill = 0;
        double worst = 0;
        int nd = 0;
        int np = 0;
        for (Calibration.Row r : rows) {
            o.printf(Locale.ROOT, markdown ? "| %s | %.1f | %.1f | %+.1f%% |%n" : "%-44s %12.1f %12.1f %+7.1f%%%n",
                    r.plan().name(), r.predicted() * 1e3, r.measured() * 1e3, 100 * r.error());
            worst = Math.max(worst, Math.abs(r.error()));
            if (r.plan().chunk().length == 0) {
                decode += Math.abs(r.error());
                nd++;
            } else {
                prefill += Math.abs(r.error());
                np++;
            }
        }
        o.printf(Locale.ROOT, "mean |error|: decode steps %.1f%% (%d), prefill and mixed steps %.1f%% (%d); worst %.1f%%%n",
                nd == 0 ? 0 : 100 * decode / nd, nd, np == 0 ? 0 : 100 * prefill / np, np, 100 * worst);
        o.flush();
    }
}
