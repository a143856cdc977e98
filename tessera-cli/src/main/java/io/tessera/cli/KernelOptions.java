package io.tessera.cli;

import io.tessera.core.kernel.Kernels;
import picocli.CommandLine.Option;

/** {@code --kernels}: which weight and attention kernels the commands that run a model use. */
final class KernelOptions {

    @Option(names = "--kernels", defaultValue = "auto", paramLabel = "KIND",
            description = "Weight and attention kernels: auto (the native library when it loads on this CPU, "
                    + "else the Java kernels, saying why), native (or fail), java. Both give the same results; "
                    + "native attention reads f32, f16 and bf16 KV caches, other cache types stay on Java "
                    + "(default: ${DEFAULT-VALUE}).")
    String kernels;

    /** Selects the kernels; prints one line on standard error when auto falls back to Java. */
    void apply() {
        Kernels.Mode mode = Kernels.Mode.parse(kernels);
        String line = Kernels.use(mode);
        if (mode == Kernels.Mode.AUTO && Kernels.name().equals("java")) {
            System.err.println(line);
        }
    }
}
