package io.tessera.cli;

import io.tessera.core.format.SafeText;
import picocli.CommandLine;

/**
 * Turns an exception escaping a subcommand into one clear line on standard error (the cause chain's
 * messages), with the stack trace only when TESSERA_DEBUG is set. Messages may quote a model file or
 * a server's answer, so control characters are escaped before they reach the terminal.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        StringBuilder msg = new StringBuilder(cmd.getCommandSpec().qualifiedName()).append(": "); // "tessera eval perplexity: "
        Throwable t = ex;
        String last = null;
        while (t != null) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
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
}
