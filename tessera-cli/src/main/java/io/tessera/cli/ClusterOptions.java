package io.tessera.cli;

import io.tessera.cluster.ExecutorFactory;
import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.transport.Wire;
import java.util.List;
import picocli.CommandLine.Option;

/** Options that spread the model over worker processes (tensor, pipeline and expert parallelism). */
final class ClusterOptions {

    @Option(names = "--tp", defaultValue = "1", paramLabel = "N",
            description = "Tensor-parallel workers per pipeline stage (default: ${DEFAULT-VALUE}).")
    int tp;

    @Option(names = "--pp", defaultValue = "1", paramLabel = "M",
            description = "Pipeline stages (default: ${DEFAULT-VALUE}).")
    int pp;

    @Option(names = "--ep", defaultValue = "1", paramLabel = "N",
            description = "Expert-parallel workers per pipeline stage, for a mixture-of-experts model: each holds "
                    + "1/N of every layer's experts and computes attention for its share of the sequences (with "
                    + "--tp 1) (default: ${DEFAULT-VALUE}).")
    int ep;

    @Option(names = "--ep-load", paramLabel = "FILE",
            description = "Expert load file (written by `bench throughput --expert-load-out`): with --ep, place "
                    + "replicas of the hottest experts on more ranks (see --ep-replica-slots).")
    java.nio.file.Path epLoad;

    @Option(names = "--ep-replica-slots", defaultValue = "1", paramLabel = "N",
            description = "With --ep-load: expert slots per rank beyond an even share, filled with replicas of the "
                    + "hottest experts (default: ${DEFAULT-VALUE}).")
    int epReplicaSlots;

    @Option(names = "--workers", split = ",", paramLabel = "HOST:PORT",
            description = "Workers started with `tessera worker`, tp × ep × pp of them (stage-major). Without it, "
                    + "--tp/--pp/--ep start their workers as child processes on loopback.")
    List<String> workers;

    @Option(names = "--cluster-file", paramLabel = "FILE",
            description = "JSON cluster file: {\"tp\": 2, \"pp\": 2, \"ep\": 1, \"workers\": [\"host:port\", ...], \"token\": \"...\", "
                    + "\"micro_batches\": 2, \"wire\": \"f32\", \"worker_threads\": 1}; options on the command line win.")
    java.nio.file.Path clusterFile;

    @Option(names = "--cluster-token", paramLabel = "T",
            description = "Shared token of the workers, at least 16 bytes. Visible in the process list: prefer "
                    + "--cluster-token-file or env TESSERA_CLUSTER_TOKEN (the default).")
    String token;

    @Option(names = "--cluster-token-file", paramLabel = "FILE",
            description = "File holding the workers' shared token (at least 16 bytes; a trailing line break is "
                    + "ignored).")
    java.nio.file.Path tokenFile;

    @Option(names = "--worker-restarts", defaultValue = "" + ExecutorFactory.DEFAULT_WORKER_RESTARTS, paramLabel = "N",
            description = "Restarts in a row of a local worker (started by --tp/--pp without --workers) that died, "
                    + "1 s, 2 s, 4 s ... apart; 0 never restarts (default: ${DEFAULT-VALUE}).")
    int workerRestarts;

    @Option(names = "--cluster-tls-keystore", paramLabel = "FILE",
            description = "PKCS12 keystore shared by the cluster: worker connections use TLS (password from env "
                    + "TESSERA_CLUSTER_TLS_PASSWORD; default: env TESSERA_CLUSTER_TLS_KEYSTORE).")
    java.nio.file.Path tlsKeystore;

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

    ExecutorFactory.Layout layout() throws java.io.IOException {
        String fileToken = null;
        if (tlsKeystore != null) {
            System.setProperty("tessera.cluster.tls.keystore", tlsKeystore.toAbsolutePath().toString());
        }
        if (clusterFile != null) {
            com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(clusterFile.toFile());
            if (tp == 1 && j.has("tp")) {
                tp = j.get("tp").asInt();
            }
            if (pp == 1 && j.has("pp")) {
                pp = j.get("pp").asInt();
            }
            if (ep == 1 && j.has("ep")) {
                ep = j.get("ep").asInt();
            }
            if (workers == null && j.has("workers")) {
                workers = new java.util.ArrayList<>();
                j.get("workers").forEach(w -> workers.add(w.asText()));
            }
            if (j.has("token")) {
                fileToken = j.get("token").asText();
            }
            if (microBatches == 0 && j.has("micro_batches")) {
                microBatches = j.get("micro_batches").asInt();
            }
            if ("f32".equals(wire) && j.has("wire")) {
                wire = j.get("wire").asText();
            }
            if (workerThreads == 1 && j.has("worker_threads")) {
                workerThreads = j.get("worker_threads").asInt();
            }
        }
        if (ep < 1) {
            throw new IllegalArgumentException("--ep must be at least 1, got " + ep);
        }
        if (epReplicaSlots < 0) {
            throw new IllegalArgumentException("--ep-replica-slots must be 0 or more, got " + epReplicaSlots);
        }
        if (workerRestarts < 0) {
            throw new IllegalArgumentException("--worker-restarts must be 0 or more, got " + workerRestarts);
        }
        String t = null;
        if (workers != null && !workers.isEmpty()) {
            // local workers get a fresh random token: a given one is only checked when it is used
            t = ClusterToken.resolve(token, "--cluster-token", tokenFile,
                    fileToken != null ? null : System.getenv(ClusterToken.ENV));
            if (t == null && fileToken != null) {
                t = ClusterToken.require(fileToken, "the cluster file " + clusterFile);
            }
        }
        return new ExecutorFactory.Layout(tp, pp, workers == null ? List.of() : workers, t, microBatches, Wire.parse(wire),
                workerThreads, workerHeap, workerRestarts, ep, epLoad, epReplicaSlots);
    }
}
