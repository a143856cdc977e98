package io.tessera.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tessera eval}: measure what a model format or cache precision costs in quality. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Quality measurements: perplexity on a text, KL divergence from a base model.",
        subcommands = {EvalPerplexityCommand.class})
final class EvalCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }
}
