package io.tessera.cli;

import io.tessera.core.sampling.SamplingParams;
import picocli.CommandLine.Option;

/** Sampling flags; the defaults are llama.cpp's. {@code --temperature 0} is greedy. */
final class SamplingOptions {

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8",
            description = "Sampling temperature; 0 means greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Nucleus sampling (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k sampling, 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0", description = "Min-p sampling, 0 = off.")
    float minP;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1", description = "1 = off.")
    float repetitionPenalty;

    @Option(names = "--presence-penalty", paramLabel = "X", defaultValue = "0",
            description = "Subtracted from the logit of every token already generated, 0 = off.")
    float presencePenalty;

    @Option(names = "--frequency-penalty", paramLabel = "X", defaultValue = "0",
            description = "Subtracted from a token's logit once per time it was generated, 0 = off.")
    float frequencyPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed, for reproducible sampling.")
    Long seed;

    SamplingParams params() {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed);
    }
}
