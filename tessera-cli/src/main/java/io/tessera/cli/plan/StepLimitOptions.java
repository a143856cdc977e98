package io.tessera.cli.plan;

import io.tessera.planner.memory.MemoryModel;
import picocli.CommandLine.Option;

/** The engine's per-step limits as {@code plan}, {@code plan simulate} and {@code plan memory} take them. */
public final class StepLimitOptions {

    @Option(names = "--max-batched-tokens", defaultValue = "2048",
            description = "tokens per step: sizes activations and bounds a step (default ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--max-seqs", defaultValue = "256",
            description = "sequences per step: sizes the logits buffer and bounds a step (default ${DEFAULT-VALUE})")
    int maxSeqs;

    MemoryModel.Limits limits() {
        return new MemoryModel.Limits(maxTokens, maxSeqs);
    }
}
