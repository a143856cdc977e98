package io.tessera.cli;

import io.tessera.cli.plan.PlanCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tessera} command. Each subcommand is its own class; this one only registers them. */
@Command(name = "tessera",
        mixinStandardHelpOptions = true,
        versionProvider = Tessera.Version.class,
        description = "Tessera: a distributed LLM inference server.",
        subcommands = {
                CommandLine.HelpCommand.class,
                RunCommand.class,
                ServeCommand.class,
                InfoCommand.class,
                TokenizeCommand.class,
                ConvertCommand.class,
                QuantizeCommand.class,
                SynthCommand.class,
                PlanCommand.class,
                BenchCommand.class,
                EvalCommand.class,
                WorkerCommand.class,
                RouterCommand.class,
        })
public final class Tessera implements Runnable {

    public static void main(String[] args) {
        int code = CliErrors.install(new CommandLine(new Tessera())).execute(args);
        System.exit(code);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    /** The version the build wrote into the server's {@code version.properties}, and the Java runtime. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {io.tessera.server.BuildInfo.current().line() + ", Java " + Runtime.version()};
        }
    }
}
