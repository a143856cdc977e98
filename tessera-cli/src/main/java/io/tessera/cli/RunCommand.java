package io.tessera.cli;

import io.tessera.core.forward.DecoderForward;
import io.tessera.core.generate.Generator;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera run}: generate text for one prompt; text to stdout as it comes, timing to stderr. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Generate text for a prompt. The text goes to standard output as it is produced; "
                + "timing goes to standard error.")
final class RunCommand implements Callable<Integer> {

    @Mixin
    QuantizeOption quantize = new QuantizeOption();

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (LoadedModel loaded = modelOptions.open(quantize);
                Parallel parallel = new Parallel(modelOptions.threads())) {
            Generator generator = new Generator(new DecoderForward(loaded.model(), parallel), loaded.tokenizer());
            Generator.Result r = generator.generate(prompt, maxTokens, sampling.params(), piece -> {
                out.print(piece);
                out.flush();
            });
            out.println();
            System.err.printf("load: %.0f ms; prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s"
                            + " (%s, %d threads)%n",
                    loaded.loadNanos() / 1e6, r.promptTokens().length, r.prefillTokensPerSecond(),
                    r.generatedTokens().length, r.decodeTokensPerSecond(), r.stopReason(), parallel.threads());
        }
        return 0;
    }
}
