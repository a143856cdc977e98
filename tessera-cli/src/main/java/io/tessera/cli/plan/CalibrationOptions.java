package io.tessera.cli.plan;

import io.tessera.planner.calibrate.ForwardStepTimer;
import io.tessera.planner.calibrate.Probes;
import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The model and machine options of {@code plan calibrate} and {@code plan validate}. */
public final class CalibrationOptions {

    @Option(names = "--shape", defaultValue = "llama-3.2-1b", description = "synthetic model shape (tessera synth) when no --model-file is given (default ${DEFAULT-VALUE})")
    String shape;
    @Option(names = "--layers", description = "layers of the synthetic model (default: the shape's own)")
    Integer layers;
    @Option(names = "--tokenizer", description = "llama2.c tokenizer file whose vocabulary the synthetic model takes "
            + "(e.g. the Llama 2 one, 32000 pieces; default: a generated vocabulary of the shape's own size, slow to write)")
    Path tokenizer;
    @Option(names = "--type", defaultValue = "q8_0", description = "weight type of the synthetic model (default ${DEFAULT-VALUE})")
    String type;
    @Option(names = "--threads", description = "engine and probe threads (default: all processors)")
    Integer threads;
    @Option(names = "--repeats", defaultValue = "5", description = "timed runs per step, round-robin over the steps; median of the runs not preempted by other processes (default ${DEFAULT-VALUE})")
    int repeats;
    @Option(names = "--work-dir", description = "where synthetic models are written and reused (default ~/.tessera/models)")
    Path workDir;

    public static Path defaultCalibrationFile() {
        return Path.of(System.getProperty("user.home"), ".tessera", "cpu-calibration.json");
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    public int repeatCount() {
        return repeats;
    }

    public String shape() {
        return shape;
    }

    /** A timer on {@code file}, or on a synthetic model of {@code shapeName} (written once, then reused) when null. */
    public ForwardStepTimer timerFor(Path file, String shapeName, PrintWriter err) throws IOException {
        if (file == null) {
            Path dir = Files.createDirectories(workDir != null ? workDir
                    : Path.of(System.getProperty("user.home"), ".tessera", "models"));
            file = dir.resolve(String.format(Locale.ROOT, "synthetic-%s-%sL-%s-%s.gguf", shapeName,
                    layers == null ? "all" : layers.toString(), tokenizer == null ? "ownvocab"
                            : tokenizer.getFileName().toString().replaceAll("\\.[^.]*$", ""), type.toLowerCase(Locale.ROOT)));
            if (!Files.exists(file)) {
                err.printf(Locale.ROOT, "writing synthetic %s (%s layers, %s) to %s ...%n", shapeName,
                        layers == null ? "all" : layers, type, file);
                err.flush();
                ForwardStepTimer.synthesize(file, shapeName, layers, null, tokenizer, type, 1);
            }
        }
        return new ForwardStepTimer(file, threadCount()).withProgress(line -> {
            err.println(line);
            err.flush();
        });
    }

    /** The built-in cpu-local entry with this machine's measured peaks. */
    public Accelerator probedCpuFor(PrintWriter out) throws Exception {
        int t = threadCount();
        double bw = Probes.memoryBandwidth(t, 256, 5);
        double flops = Probes.matmulFlops(t, 256, 12);
        out.printf(Locale.ROOT, "probes on %d threads: memory read %.1f GB/s, fp32 matmul %.1f GFLOP/s%n", t, bw / 1e9, flops / 1e9);
        return AcceleratorCatalog.builtin().get("cpu-local").withPeaks(bw / 1e9, flops / 1e12);
    }
}
