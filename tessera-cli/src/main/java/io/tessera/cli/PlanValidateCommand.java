package io.tessera.cli;

import io.tessera.cli.plan.CalibrationOptions;
import io.tessera.planner.calibrate.Calibration;
import io.tessera.planner.calibrate.ForwardStepTimer;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import io.tessera.planner.calibrate.StepPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;
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
        Path fittedOn = Calibration.calibratedModel(file);
        Map<String, Double> fitted = Calibration.fittedMillis(file);
        double drift = Double.NaN;
        for (int i = 0; i < files.size(); i++) {
            try (ForwardStepTimer timer = opts.timerFor(files.get(i), shapes.get(i), spec.commandLine().getErr())) {
                o.printf(Locale.ROOT, "%nmodel: %s, %d layers, %.1fM parameters, %d threads%n", timer.shape().name(),
                        timer.shape().layers(), timer.shape().totalParams() / 1e6, timer.threads());
                o.flush();
                List<StepPlan> steps = new ArrayList<>(Calibration.validationSteps(timer.shape().layers()));
                // on the calibration's own model, two fitted steps are measured again among the others:
                // how fast the machine is now against the calibration (a shared machine drifts)
                List<StepPlan> again = List.of();
                boolean sameModel = fittedOn != null && timer.file().toAbsolutePath().equals(fittedOn.toAbsolutePath());
                if (sameModel && !fitted.isEmpty()) {
                    again = Calibration.driftSteps(timer.shape().layers());
                    steps.addAll(again);
                }
                double[] measured = timer.seconds(steps, opts.repeatCount());
                int n = steps.size() - again.size();
                if (!again.isEmpty()) {
                    double log = 0;
                    StringBuilder sb = new StringBuilder();
                    for (int k = 0; k < again.size(); k++) {
                        double ratio = measured[n + k] * 1e3 / fitted.get(again.get(k).name());
                        log += Math.log(ratio);
                        sb.append(String.format(Locale.ROOT, "%s%s %.0f ms now, %.0f ms at calibration", k == 0 ? "" : "; ",
                                again.get(k).name(), measured[n + k] * 1e3, fitted.get(again.get(k).name())));
                    }
                    drift = Math.exp(log / again.size());
                    o.printf(Locale.ROOT, "machine speed against the calibration: %s (steps take x%.2f)%n", sb, drift);
                }
                List<Calibration.Row> rows = Calibration.rows(timer, cpu, steps.subList(0, n), Arrays.copyOf(measured, n));
                table(o, rows, markdown, drift);
            }
        }
        return 0;
    }

    static void table(PrintWriter o, List<Calibration.Row> rows, boolean markdown) {
        table(o, rows, markdown, Double.NaN);
    }

    /**
     * The rows with their errors; with a measured drift (steps now take x drift of their time at
     * calibration) a second error column compares the prediction scaled by it.
     */
    static void table(PrintWriter o, List<Calibration.Row> rows, boolean markdown, double drift) {
        boolean d = !Double.isNaN(drift);
        if (markdown) {
            o.println("| step | predicted ms | measured ms | error |" + (d ? " error at today's speed |" : ""));
            o.println("| --- | ---: | ---: | ---: |" + (d ? " ---: |" : ""));
        } else {
            o.printf(Locale.ROOT, "%-44s %12s %12s %8s%s%n", "step", "predicted ms", "measured ms", "error",
                    d ? "  error at today's speed" : "");
        }
        double adjusted = 0;
        double decode = 0;
        double prefill = 0;
        double worst = 0;
        int nd = 0;
        int np = 0;
        for (Calibration.Row r : rows) {
            double adj = d ? (r.predicted() * drift - r.measured()) / r.measured() : 0;
            adjusted += Math.abs(adj);
            String extra = d ? String.format(Locale.ROOT, markdown ? " %+.1f%% |" : "  %+7.1f%%", 100 * adj) : "";
            o.printf(Locale.ROOT, markdown ? "| %s | %.1f | %.1f | %+.1f%% |%s%n" : "%-44s %12.1f %12.1f %+7.1f%%%s%n",
                    r.plan().name(), r.predicted() * 1e3, r.measured() * 1e3, 100 * r.error(), extra);
            worst = Math.max(worst, Math.abs(r.error()));
            if (r.plan().chunk().length == 0) {
                decode += Math.abs(r.error());
                nd++;
            } else {
                prefill += Math.abs(r.error());
                np++;
            }
        }
        o.printf(Locale.ROOT, "mean |error|: decode steps %.1f%% (%d), prefill and mixed steps %.1f%% (%d); worst %.1f%%%s%n",
                nd == 0 ? 0 : 100 * decode / nd, nd, np == 0 ? 0 : 100 * prefill / np, np, 100 * worst,
                d ? String.format(Locale.ROOT, "; at today's speed (x%.2f) %.1f%% overall", drift, 100 * adjusted / rows.size()) : "");
        o.flush();
    }
}
