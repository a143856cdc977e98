package io.tessera.cli.plan;

import io.tessera.planner.calibrate.EngineStepTimer;
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

    @Option(names = "--model-file", description = "a GGUF model to time (default: a synthetic model of --shape)")
    Path modelFile;
    @Option(names = "--shape", defaultValue = "llama-3.2-1b", description = "synthetic model shape (tessera synth) (default ${DEFAULT-VALUE})")
    String shape;
    @Option(names = "--layers", defaultValue = "4", description = "layers of the synthetic model (default ${DEFAULT-VALUE})")
    int layers;
    @Option(names = "--type", defaultValue = "q8_0", description = "weight type of the synthetic model (default ${DEFAULT-VALUE})")
    String type;
    @Option(names = "--threads", description = "engine and probe threads (default: all processors)")
    Integer threads;
    @Option(names = "--repeats", defaultValue = "3", description = "timed runs per step, median kept (default ${DEFAULT-VALUE})")
    int repeats;
    @Option(names = "--work-dir", description = "where the synthetic model is written (default: a temporary directory)")
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

    public EngineStepTimer timerFor(PrintWriter err) throws IOException {
        Path file = modelFile;
        if (file == null) {
            Path dir = workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory("tessera-calibrate");
            file = dir.resolve(String.format(Locale.ROOT, "synthetic-%s-%dL-%s.gguf", shape, layers, type.toLowerCase(Locale.ROOT)));
            if (!Files.exists(file)) {
                err.printf(Locale.ROOT, "writing synthetic %s (%d layers, %s) to %s ...%n", shape, layers, type, file);
                err.flush();
                EngineStepTimer.synthesize(file, shape, layers, type, 1);
            }
        }
        return new EngineStepTimer(file, threadCount());
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
