package io.tessera.cli.plan;

import io.tessera.planner.report.Units;
import picocli.CommandLine.Option;

/** The latency targets of {@code plan} and {@code plan simulate}, in seconds once parsed. */
public final class SloOptions {

    @Option(names = "--ttft-slo", defaultValue = "1s", description = "time-to-first-token target (default ${DEFAULT-VALUE})")
    String ttft;
    @Option(names = "--tpot-slo", defaultValue = "50ms", description = "time-per-output-token target (default ${DEFAULT-VALUE})")
    String tpot;

    double ttftSeconds() {
        return Units.seconds("--ttft-slo", ttft);
    }

    double tpotSeconds() {
        return Units.seconds("--tpot-slo", tpot);
    }
}
