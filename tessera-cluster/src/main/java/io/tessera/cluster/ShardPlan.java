package io.tessera.cluster;

import java.util.List;

/**
 * What the coordinator tells one worker (the PLAN frame, as JSON): which model file to map, which
 * shard of it to build, how big a KV cache to allocate, and where the other workers are.
 *
 * @param model path of the model file on the worker's host (each worker maps its own copy)
 * @param workerId this worker's id: stage × tp × ep + epRank × tp + tpRank
 * @param epRank this worker's rank in its stage's expert-parallel group ({@code epSize} 1: none)
 * @param expertPlacement [layer][expert] → the expert-parallel ranks holding it (null without expert parallelism)
 * @param peers listen address ("host:port") of every worker, indexed by worker id
 */
public record ShardPlan(
        String model,
        int workerId,
        int tpRank,
        int tpSize,
        int stage,
        int stages,
        int layerFrom,
        int layerTo,
        String kvType,
        int numBlocks,
        int blockSize,
        int threads,
        String wire,
        long timeoutMillis,
        List<String> peers,
        int epRank,
        int epSize,
        int[][][] expertPlacement) {
}
