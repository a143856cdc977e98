package io.tessera.cli;

import io.tessera.benchmarks.serve.WorkloadMix;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * The random workload's lengths of {@code bench serve} and {@code bench throughput}. Each command
 * names its own default lengths through a {@link Defaults} subclass, so that the help shows them.
 */
final class LengthOptions {

    @Option(names = "--input-len", paramLabel = "N",
            description = "Prompt tokens per request of the random workload (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", paramLabel = "N",
            description = "Output tokens per request (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--range-ratio", defaultValue = "0", paramLabel = "R",
            description = "Sample each length uniformly in [len·(1-R), len·(1+R)] (default: ${DEFAULT-VALUE}: fixed).")
    double rangeRatio;

    /** The one-class workload these lengths describe. */
    WorkloadMix mix() {
        return WorkloadMix.single(inputLen, outputLen, rangeRatio);
    }

    /** A command's default lengths. */
    abstract static class Defaults implements CommandLine.IDefaultValueProvider {
        private final int inputLen;
        private final int outputLen;

        Defaults(int inputLen, int outputLen) {
            this.inputLen = inputLen;
            this.outputLen = outputLen;
        }

        @Override
        public String defaultValue(ArgSpec arg) {
            if (arg instanceof OptionSpec o) {
                return switch (o.longestName()) {
                    case "--input-len" -> Integer.toString(inputLen);
                    case "--output-len" -> Integer.toString(outputLen);
                    default -> null;
                };
            }
            return null;
        }
    }
}
