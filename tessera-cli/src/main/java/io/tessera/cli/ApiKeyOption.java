package io.tessera.cli;

import picocli.CommandLine.Option;

/**
 * {@code --api-key} of the commands that call a Tessera (or any OpenAI-compatible) server. The
 * default is the variable {@code tessera serve} reads, so one {@code TESSERA_API_KEY} serves both
 * ends; {@code OPENAI_API_KEY} is the fallback other OpenAI clients already set.
 */
final class ApiKeyOption {

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Bearer key sent to the server (default: $TESSERA_API_KEY, else $OPENAI_API_KEY, else none).")
    String apiKey;

    /** The key to send, or null for none. */
    String key() {
        if (apiKey != null) {
            return apiKey;
        }
        String tessera = System.getenv("TESSERA_API_KEY");
        return tessera != null && !tessera.isEmpty() ? tessera : System.getenv("OPENAI_API_KEY");
    }
}
