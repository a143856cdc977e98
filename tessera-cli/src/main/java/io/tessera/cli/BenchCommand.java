package io.tessera.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tessera bench}: the benchmark commands, one subcommand per workload. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: measure what users see (tokens/s, time to first token, memory).",
        subcommands = {
                BenchThroughputCommand.class,
                BenchKvOffloadCommand.class,
                BenchOfflineCommand.class,
                BenchHttpCommand.class,
                BenchServeCommand.class,
        })
final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }
}
