package io.tessera.cli;

import io.tessera.cluster.ClusterExecutors;
import io.tessera.cluster.transport.Wire;
import java.util.List;
import picocli.CommandLine.Option;

/** Options that spread the model over worker processes (tensor and pipeline parallelism). */
final class ClusterOptions {

    @Option(names = "--tp", defaultValue = "1", paramLabel = "N",
            description = "Tensor-parallel workers per pipeline stage (default: ${DEFAULT-VALUE}).")
    int tp;

    @Option(names = "--pp", defaultValue = "1", paramLabel = "M",
            description = "Pipeline stages (default: ${DEFAULT-VALUE}).")
    int pp;

    @Option(names = "--workers", split = ",", paramLabel = "HOST:PORT",
            description = "Workers started with `tessera worker`, tp × pp of them (stage-major). Without it, "
                    + "--tp/--pp start their workers as child processes on loopback.")
    List<String> workers;

    @Option(names = "--cluster-token", paramLabel = "T",
            description = "Shared token of the workers (default: env TESSERA_CLUSTER_TOKEN).")
    String token;

    @Option(names = "--micro-batches", defaultValue = "0", paramLabel = "N",
            description = "Pipeline micro-batches per step (default: one per stage; 1 turns micro-batching off).")
    int microBatches;

    @Option(names = "--wire", defaultValue = "f32", paramLabel = "TYPE",
            description = "Activations on the wire: f32 (exact) or bf16 (half the bytes) (default: ${DEFAULT-VALUE}).")
    String wire;

    @Option(names = "--worker-threads", defaultValue = "1", paramLabel = "N",
            description = "Compute threads of each worker (default: ${DEFAULT-VALUE}).")
    int workerThreads;

    @Option(names = "--worker-heap", defaultValue = "1g", paramLabel = "SIZE",
            description = "-Xmx of locally started workers (default: ${DEFAULT-VALUE}).")
    String workerHeap;

    ClusterExecutors.Layout layout() {
        String t = token != null ? token : System.getenv("TESSERA_CLUSTER_TOKEN");
        return new ClusterExecutors.Layout(tp, pp, workers == null ? List.of() : workers, t, microBatches, Wire.parse(wire),
                workerThreads, workerHeap);
    }
}
