package io.tessera.cli.plan;

import io.tessera.planner.calibrate.CalibrationSetup;
import io.tessera.planner.calibrate.ForwardStepTimer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
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

    CalibrationSetup setup() {
        return new CalibrationSetup(layers, tokenizer, type, threads, workDir);
    }

    /** A timer on {@code file} or a synthetic {@code shapeName}, saying its progress on {@code err}. */
    ForwardStepTimer timer(Path file, String shapeName, PrintWriter err) throws IOException {
        return setup().timerFor(file, shapeName, line -> {
            err.println(line);
            err.flush();
        });
    }
}
