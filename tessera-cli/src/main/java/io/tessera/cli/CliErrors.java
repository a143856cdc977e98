package io.tessera.cli;

import io.tessera.core.format.SafeText;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Turns an error into one clear line on standard error, prefixed with the full command name
 * ({@code tessera bench serve: ...}). A bad command line (unknown or missing option, bad value) gets
 * picocli's message and a pointer to {@code --help} instead of the whole usage, exit code 2. An
 * exception escaping a subcommand gets its cause chain's messages, exit code 1, with the stack trace
 * only when TESSERA_DEBUG is set. Messages may quote a model file or a server's answer, so control
 * characters are escaped before they reach the terminal.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {

    /** Exit code of a command line that could not be parsed (picocli's convention). */
    static final int USAGE = 2;

    /** A command line with both handlers installed: what {@code main} runs and what the tests run. */
    static CommandLine install(CommandLine cl) {
        CliErrors errors = new CliErrors();
        return cl.setExecutionExceptionHandler(errors).setParameterExceptionHandler(errors);
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        cmd.getErr().println(SafeText.escape(name + ": " + ex.getMessage() + " (see '" + name + " --help')"));
        return USAGE;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        StringBuilder msg = new StringBuilder(cmd.getCommandSpec().qualifiedName()).append(": ");
        Throwable t = ex;
        String last = null;
        while (t != null) {
            String m = describe(t);
            if (!m.equals(last)) {
                if (last != null) {
                    msg.append(": ");
                }
                msg.append(m);
                last = m;
            }
            t = t.getCause();
        }
        cmd.getErr().println(SafeText.escape(msg.toString()));
        if (System.getenv("TESSERA_DEBUG") != null) {
            ex.printStackTrace(cmd.getErr());
        }
        return 1;
    }

    /** A sentence for the file errors whose own message is a bare path. */
    private static String describe(Throwable t) {
        if (t instanceof NoSuchFileException e && e.getFile() != null && e.getReason() == null) {
            Path parent = Path.of(e.getFile()).toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                return "cannot open " + e.getFile() + ": the directory " + parent + " does not exist";
            }
            return e.getFile() + ": no such file";
        }
        if (t instanceof AccessDeniedException e && e.getFile() != null && e.getReason() == null) {
            return e.getFile() + ": permission denied";
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
