package io.tessera.cli;

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

    /** The version the build wrote into {@code version.properties}: Maven project version and git commit. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            java.util.Properties p = new java.util.Properties();
            try (var in = Tessera.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            String version = p.getProperty("version", "unknown");
            String commit = p.getProperty("commit", "");
            return new String[] {"tessera " + version + (commit.isBlank() ? "" : " (" + commit + ")")
                    + ", Java " + Runtime.version()};
        }
    }
}
