package io.tessera.cluster;

import io.tessera.cluster.transport.Wire;
import io.tessera.core.forward.KvCacheType;
import java.nio.file.Path;
import java.util.List;

/**
 * How the coordinator lays a model over workers.
 *
 * @param model the model file, at the same path on every worker's host
 * @param tp tensor-parallel ranks per stage
 * @param pp pipeline stages
 * @param workers listen addresses, tp × ep × pp of them; worker id = stage × tp × ep + epRank × tp + tpRank
 * @param token the shared cluster token
 * @param kvType KV cache precision on the workers
 * @param numBlocks KV blocks (every worker allocates this many for its heads and layers)
 * @param blockSize tokens per block
 * @param threadsPerWorker compute threads of each worker
 * @param microBatches pipeline micro-batches a step is split into (1: none)
 * @param wire activations on the wire: f32 (exact) or bf16 (half the bytes)
 * @param heartbeatMillis how often workers are pinged
 * @param deadAfterMillis silence after which a worker counts as lost
 * @param stepTimeoutMillis longest a step may take before the cluster gives up on it
 * @param ep expert-parallel ranks per stage: each holds some experts of every sparse layer and
 *     computes attention for its share of the batch's sequences (1: none)
 * @param expertPlacement [layer][expert] → the ranks holding it ({@code ExpertPlacement#table}), or
 *     null for contiguous ranges without replicas
 */
public record ClusterConfig(
        Path model,
        int tp,
        int pp,
        List<String> workers,
        String token,
        KvCacheType kvType,
        int numBlocks,
        int blockSize,
        int threadsPerWorker,
        int microBatches,
        Wire wire,
        long heartbeatMillis,
        long deadAfterMillis,
        long stepTimeoutMillis,
        int ep,
        int[][][] expertPlacement) {

    public ClusterConfig {
        if (tp < 1 || pp < 1 || ep < 1) {
            throw new IllegalArgumentException("--tp, --pp and --ep must be at least 1");
        }
        if (ep > 1 && tp > 1) {
            throw new IllegalArgumentException("--ep with --tp is not supported: expert-parallel ranks replicate "
                    + "attention (use --tp 1)");
        }
        if (workers.size() != tp * pp * ep) {
            throw new IllegalArgumentException("tp " + tp + " × pp " + pp + (ep > 1 ? " × ep " + ep : "") + " needs "
                    + tp * pp * ep + " workers, got " + workers.size());
        }
        workers = List.copyOf(workers);
    }

    /** Without expert parallelism. */
    public ClusterConfig(Path model, int tp, int pp, List<String> workers, String token, KvCacheType kvType,
            int numBlocks, int blockSize, int threadsPerWorker, int microBatches, Wire wire, long heartbeatMillis,
            long deadAfterMillis, long stepTimeoutMillis) {
        this(model, tp, pp, workers, token, kvType, numBlocks, blockSize, threadsPerWorker, microBatches, wire,
                heartbeatMillis, deadAfterMillis, stepTimeoutMillis, 1, null);
    }

    /** Workers of one pipeline stage: tp × ep. Worker id = stage × width + epRank × tp + tpRank. */
    public int stageWidth() {
        return tp * ep;
    }

    /** Defaults for the rest: F32 wire, 1 thread per worker, no micro-batching, 250 ms pings, 2 s to declare a loss. */
    public static ClusterConfig of(Path model, int tp, int pp, List<String> workers, String token, KvCacheType kvType,
            int numBlocks, int blockSize) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, 1, 1, Wire.F32, 250,
                2000, 120_000);
    }

    public ClusterConfig withMicroBatches(int m) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, threadsPerWorker, m, wire,
                heartbeatMillis, deadAfterMillis, stepTimeoutMillis, ep, expertPlacement);
    }

    public ClusterConfig withThreads(int t) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, t, microBatches, wire,
                heartbeatMillis, deadAfterMillis, stepTimeoutMillis, ep, expertPlacement);
    }

    public ClusterConfig withWire(Wire w) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, threadsPerWorker,
                microBatches, w, heartbeatMillis, deadAfterMillis, stepTimeoutMillis, ep, expertPlacement);
    }
}
