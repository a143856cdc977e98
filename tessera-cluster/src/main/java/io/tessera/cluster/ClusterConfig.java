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
 * @param workers listen addresses, tp × pp of them; worker id = stage × tp + rank
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
        long stepTimeoutMillis) {

    public ClusterConfig {
        if (tp < 1 || pp < 1) {
            throw new IllegalArgumentException("--tp and --pp must be at least 1");
        }
        if (workers.size() != tp * pp) {
            throw new IllegalArgumentException("tp " + tp + " × pp " + pp + " needs " + tp * pp + " workers, got "
                    + workers.size());
        }
        workers = List.copyOf(workers);
    }

    /** Defaults for the rest: F32 wire, 1 thread per worker, no micro-batching, 250 ms pings, 2 s to declare a loss. */
    public static ClusterConfig of(Path model, int tp, int pp, List<String> workers, String token, KvCacheType kvType,
            int numBlocks, int blockSize) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, 1, 1, Wire.F32, 250,
                2000, 120_000);
    }

    public ClusterConfig withMicroBatches(int m) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, threadsPerWorker, m, wire,
                heartbeatMillis, deadAfterMillis, stepTimeoutMillis);
    }

    public ClusterConfig withThreads(int t) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, t, microBatches, wire,
                heartbeatMillis, deadAfterMillis, stepTimeoutMillis);
    }

    public ClusterConfig withWire(Wire w) {
        return new ClusterConfig(model, tp, pp, workers, token, kvType, numBlocks, blockSize, threadsPerWorker,
                microBatches, w, heartbeatMillis, deadAfterMillis, stepTimeoutMillis);
    }
}
