package io.tessera.cli.plan;

import io.tessera.planner.sim.WorkloadParams;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The workload options of {@code plan} and {@code plan simulate}. */
public final class WorkloadOptions {

    @Option(names = "--rate", description = "Poisson arrival rate, requests/s (search: 0 = find the most goodput per device)")
    double rate;
    @Option(names = "--concurrency", description = "closed loop: this many clients, each sending its next request when the last one ends")
    int concurrency;
    @Option(names = "--requests", defaultValue = "200", description = "requests per simulation (default ${DEFAULT-VALUE})")
    int requests;
    @Option(names = "--input-len", defaultValue = "uniform:512:1536", description = "prompt tokens: N, uniform:A:B, normal:MEAN:SD, exp:MEAN (default ${DEFAULT-VALUE})")
    String prompt;
    // the name before --input-len (the bench commands' name); kept for old scripts
    @Option(names = "--prompt-len", hidden = true, description = "old name of --input-len")
    String promptAlias;
    @Option(names = "--output-len", defaultValue = "uniform:64:448", description = "output tokens, same forms (default ${DEFAULT-VALUE})")
    String output;
    @Option(names = "--trace", description = "trace file: JSON lines {arrival, prompt_tokens, output_tokens} or CSV arrival,prompt,output")
    Path trace;
    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    WorkloadParams params() {
        return new WorkloadParams(trace, rate, concurrency, requests, promptAlias != null ? promptAlias : prompt, output, seed);
    }
}
