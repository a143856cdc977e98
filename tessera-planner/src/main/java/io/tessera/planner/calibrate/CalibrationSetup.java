package io.tessera.planner.calibrate;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * What a calibration or validation runs on: the synthetic model written when no file is given
 * (shape, layers, vocabulary from a tokenizer file or the shape's own, weight type; written once
 * under {@code workDir}, then reused), the threads of the engine and the probes.
 *
 * @param layers layers of the synthetic model, null for the shape's own
 * @param tokenizer llama2.c tokenizer whose vocabulary the synthetic model takes, or null
 * @param threads engine and probe threads, null for all processors
 * @param workDir where synthetic models are kept, null for ~/.tessera/models
 */
public record CalibrationSetup(Integer layers, Path tokenizer, String type, Integer threads, Path workDir) {

    /** Where {@code plan calibrate} writes and {@code plan validate} reads by default. */
    public static Path defaultCalibrationFile() {
        return Path.of(System.getProperty("user.home"), ".tessera", "cpu-calibration.json");
    }

    public int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** The file a synthetic model of {@code shapeName} is kept in: its name says all it was written with. */
    public Path syntheticFile(String shapeName) {
        Path dir = workDir != null ? workDir : Path.of(System.getProperty("user.home"), ".tessera", "models");
        return dir.resolve(String.format(Locale.ROOT, "synthetic-%s-%sL-%s-%s.gguf", shapeName,
                layers == null ? "all" : layers.toString(), tokenizer == null ? "ownvocab"
                        : tokenizer.getFileName().toString().replaceAll("\\.[^.]*$", ""), type.toLowerCase(Locale.ROOT)));
    }

    /**
     * A timer on {@code file}, or on a synthetic model of {@code shapeName} (written once, then
     * reused) when null; {@code progress} hears of the writing and of each timed round.
     */
    public ForwardStepTimer timerFor(Path file, String shapeName, Consumer<String> progress) throws IOException {
        if (file == null) {
            file = syntheticFile(shapeName);
            Files.createDirectories(file.getParent());
            if (!Files.exists(file)) {
                progress.accept(String.format(Locale.ROOT, "writing synthetic %s (%s layers, %s) to %s ...", shapeName,
                        layers == null ? "all" : layers, type, file));
                ForwardStepTimer.synthesize(file, shapeName, layers, null, tokenizer, type, 1);
            }
        }
        return new ForwardStepTimer(file, threadCount()).withProgress(progress);
    }

    /** The built-in cpu-local entry with this machine's measured peaks (memory read, fp32 matmul). */
    public Accelerator probedCpu() throws Exception {
        int t = threadCount();
        double bw = Probes.memoryBandwidth(t, 256, 5);
        double flops = Probes.matmulFlops(t, 256, 12);
        return AcceleratorCatalog.builtin().get("cpu-local").withPeaks(bw / 1e9, flops / 1e12);
    }
}
