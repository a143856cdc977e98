package io.tessera.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tessera bench}: the benchmark commands, each a subcommand. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure speed and memory.",
        subcommands = {BenchOfflineCommand.class})
final class BenchCommand implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }
}
