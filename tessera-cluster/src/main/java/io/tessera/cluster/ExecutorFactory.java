package io.tessera.cluster;

import io.tessera.cluster.transport.Wire;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.kv.KvOffloadConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The one place an executor is chosen: local when the layout is 1 × 1 with no workers, else a
 * {@link DistributedExecutor} over the given workers, or over worker processes started here on
 * loopback when none are given. Used by {@code tessera bench throughput} (and {@code serve}).
 */
public final class ExecutorFactory {

    /** Restarts of a local worker in a row before it is left dead. */
    public static final int DEFAULT_WORKER_RESTARTS = 5;

    /** Delay before the first restart of a local worker; it doubles with each further one. */
    static final long FIRST_RESTART_DELAY_MILLIS = 1000;

    /**
     * @param workers worker addresses (empty: start tp × pp local worker processes)
     * @param token the cluster token for given workers (local ones get a fresh random token)
     * @param microBatches pipeline micro-batches per step (0: one per stage)
     * @param workerRestarts how often a local worker that died is restarted in a row (0: never)
     * @param ep expert-parallel ranks per stage (1: none)
     * @param expertLoad a measured expert load file to place replicas of the hottest experts by, or null
     * @param expertReplicaSlots expert slots per rank beyond an even share, for replicas (with {@code expertLoad})
     */
    public record Layout(int tp, int pp, List<String> workers, String token, int microBatches, Wire wire,
            int workerThreads, String workerHeap, int workerRestarts, int ep, Path expertLoad,
            int expertReplicaSlots) {

        /** Without expert parallelism. */
        public Layout(int tp, int pp, List<String> workers, String token, int microBatches, Wire wire,
                int workerThreads, String workerHeap, int workerRestarts) {
            this(tp, pp, workers, token, microBatches, wire, workerThreads, workerHeap, workerRestarts, 1, null, 0);
        }

        public static Layout single() {
            return new Layout(1, 1, List.of(), null, 1, Wire.F32, 1, "1g", DEFAULT_WORKER_RESTARTS);
        }

        public boolean distributed() {
            return tp * pp * ep > 1 || !workers.isEmpty();
        }

        /** Worker processes of the layout: tp × ep × pp. */
        public int workerCount() {
            return tp * pp * ep;
        }
    }

    /** An executor and the local worker processes it runs on (null when none, or when the executor owns them). */
    public record Opened(Executor executor, LocalCluster localWorkers) implements AutoCloseable {
        @Override
        public void close() {
            try {
                executor.close();
            } finally {
                if (localWorkers != null) {
                    localWorkers.close();
                }
            }
        }
    }

    private ExecutorFactory() {
    }

    /** An executor whose KV cache (all workers together) takes about {@code budgetBytes}. */
    public static Opened open(Model model, Path modelFile, Parallel parallel, KvCacheType type, int blockSize,
            long budgetBytes, Layout layout) throws IOException {
        return open(model, modelFile, parallel, type, blockSize, budgetBytes, layout, KvOffloadConfig.NONE);
    }

    /**
     * The same with tiers below the KV cache for evicted prefix blocks. Only the local executor has
     * them: across workers each would have to spill and restore its own shard of every block, which
     * is not built, so a distributed layout with tiers is refused.
     */
    public static Opened open(Model model, Path modelFile, Parallel parallel, KvCacheType type, int blockSize,
            long budgetBytes, Layout layout, KvOffloadConfig offload) throws IOException {
        if (layout.expertLoad() != null && layout.ep() < 2) {
            throw new IllegalArgumentException("--ep-load places experts over expert-parallel ranks: it needs --ep 2 "
                    + "or more");
        }
        if (!layout.distributed()) {
            return new Opened(LocalExecutor.withBudget(model, parallel, type, blockSize, budgetBytes, offload), null);
        }
        if (offload.enabled()) {
            throw new IllegalArgumentException("--kv-offload-memory and --kv-offload-dir work with the local executor "
                    + "only, not with --tp, --pp or --workers (the KV cache then lives in the workers)");
        }
        for (int s = 0; s < layout.pp(); s++) {
            // a layout the model cannot take fails here, before any worker is started
            new io.tessera.core.shard.ShardSpec(0, layout.tp(), s, layout.pp(), 0, model.config().layers())
                    .check(model.config());
        }
        StagePartition.split(model.config(), layout.pp());
        int[][][] placement = null;
        if (layout.ep() < 1) {
            throw new IllegalArgumentException("--ep must be at least 1, got " + layout.ep());
        }
        if (layout.ep() > 1) {
            if (layout.tp() > 1) {
                throw new IllegalArgumentException("--ep with --tp is not supported: expert-parallel ranks replicate "
                        + "attention (use --tp 1)");
            }
            DistributedExecutor.checkExperts(model.config(), layout.ep(), null);
            if (layout.expertLoad() != null) {
                placement = ExpertLoadFile.place(ExpertLoadFile.read(layout.expertLoad(), model.config()),
                        model.config(), layout.ep(), layout.expertReplicaSlots(), System.err).table();
            }
        }
        int blocks = PagedKvCache.blocksForBudget(model.config(), type, blockSize, budgetBytes);
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache budget of " + budgetBytes + " bytes holds no block");
        }
        LocalCluster local = null;
        List<String> workers = layout.workers();
        String token = layout.token();
        if (workers.isEmpty()) {
            local = LocalCluster.start(layout.workerCount(), layout.workerHeap(), layout.workerThreads());
            workers = local.addresses();
            token = local.token();
        } else if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("--workers needs the cluster token (--cluster-token-file or "
                    + "TESSERA_CLUSTER_TOKEN)");
        }
        int micro = layout.microBatches() > 0 ? layout.microBatches() : layout.pp();
        try {
            ClusterConfig cfg = new ClusterConfig(modelFile, layout.tp(), layout.pp(), workers, token, type, blocks,
                    blockSize, layout.workerThreads(), micro, layout.wire(), 250, 2000, 120_000, layout.ep(), placement);
            DistributedExecutor d = DistributedExecutor.connect(cfg);
            d.ownWorkers(local);
            if (local != null) {
                local.superviseRestarts(layout.workerRestarts(), FIRST_RESTART_DELAY_MILLIS);
            }
            return new Opened(d, null);
        } catch (IOException | RuntimeException e) {
            if (local != null) {
                local.close();
            }
            throw e;
        }
    }
}
