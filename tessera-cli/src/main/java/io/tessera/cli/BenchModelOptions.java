package io.tessera.cli;

import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The model file, compute threads and kernels of the benchmarks that run a model in process. */
final class BenchModelOptions {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "Model file (GGUF or llama2.c).")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Mixin
    KernelOptions kernels = new KernelOptions();

    /** The threads to run with: the option, else every core. */
    int threads() {
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        }
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }
}
