package io.tessera.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.cluster.transport.ClusterException;
import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.WireCounters;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.shard.ShardSpec;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.KvBlockIo;
import io.tessera.engine.executor.StepInput;
import io.tessera.engine.executor.StepResult;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine's executor over a cluster of worker processes. On creation it connects to every
 * worker (shared-token handshake), sends each its {@link ShardPlan} and waits until all have mapped
 * their shard and allocated their KV cache. A step is sent to every worker (split into
 * micro-batches when configured, so that pipeline stages overlap); the last stage's rank 0 sends
 * back the logits rows. Sampling stays in the engine.
 *
 * <p>Faults: workers are pinged every {@code heartbeatMillis}; a closed connection, an ERROR frame,
 * or {@code deadAfterMillis} without an answer marks the cluster degraded and fails the running
 * step (and every later one) with a {@link ClusterException} naming the worker, which the engine
 * turns into an error for the requests of that step. {@link #health()} reports it.
 *
 * <p>What this executor reports ({@link #health()}, the exceptions of failed steps) names workers by
 * index only: it reaches HTTP clients. Worker addresses and the workers' own error messages go to
 * the log ({@link ClusterLog}), which also says when a worker is lost and when the cluster is back.
 */
public final class DistributedExecutor implements Executor {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterConfig config;
    private final ModelConfig modelConfig;
    private final Node node;
    private final Link[] links;
    private final long[] lastPong;
    private final Mailbox replies = new Mailbox();
    private final List<JsonNode> facts = new ArrayList<>();
    private final int[] stageBounds;
    private final ScheduledExecutorService heartbeat;
    /** Why each lost worker is lost, without addresses (reported to clients). */
    private final ConcurrentHashMap<Integer, String> failures = new ConcurrentHashMap<>();
    /** The same with addresses and the workers' own messages (for the log and startup errors). */
    private final ConcurrentHashMap<Integer, String> failureDetails = new ConcurrentHashMap<>();
    private final AtomicLong tags = new AtomicLong();
    private final long kvBytesPerBlock;
    /** Which expert-parallel rank holds each sequence (null without expert parallelism). */
    private final SequencePlacement sequences;
    private volatile boolean closed;
    private volatile long planTag;
    private volatile long epoch;
    private volatile boolean recovering;
    private LocalCluster ownedWorkers;

    private DistributedExecutor(ClusterConfig config, ModelConfig modelConfig) throws IOException {
        this.config = config;
        this.modelConfig = modelConfig;
        int n = config.workers().size();
        this.links = new Link[n];
        this.lastPong = new long[n];
        this.stageBounds = StagePartition.split(modelConfig, config.pp());
        this.sequences = config.ep() > 1 ? new SequencePlacement(config.ep(), config.numBlocks()) : null;
        this.node = new Node(config.token(), -1, this::onFrame, this::onClose);
        node.maxFrame(FrameLimits.coordinator(modelConfig, config.numBlocks(), config.blockSize()));
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tessera-heartbeat");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int w = 0; w < n; w++) {
                links[w] = node.connect(address(config.workers().get(w)), Duration.ofSeconds(10));
                links[w].remoteIdHint(w);
                lastPong[w] = System.nanoTime();
            }
            facts.addAll(sendPlans(src -> failureDetails.isEmpty() ? null
                    : "cannot start the cluster: " + String.join("; ", failureDetails.values())));
            long kv = 0;
            for (JsonNode j : facts) {
                kv += j.get("kvBytes").asLong();
            }
            this.kvBytesPerBlock = kv / config.numBlocks();
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        java.util.Arrays.fill(lastPong, System.nanoTime());
        heartbeat.scheduleAtFixedRate(this::ping, config.heartbeatMillis(), config.heartbeatMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Sends every worker its plan and waits until all are ready; returns what they report. */
    private List<JsonNode> sendPlans(java.util.function.IntFunction<String> failure) throws IOException {
        long tag = tags.incrementAndGet();
        planTag = tag;
        List<String> addresses = addresses();
        for (int w = 0; w < links.length; w++) {
            links[w].send(MessageType.PLAN, tag, JSON.writeValueAsBytes(plan(w, addresses)));
        }
        List<JsonNode> out = new ArrayList<>();
        for (int w = 0; w < links.length; w++) {
            Frame f = replies.take(MessageType.READY, w, tag, config.stepTimeoutMillis(), failure);
            out.add(JSON.readTree(f.payload()));
        }
        return out;
    }

    /**
     * While degraded: reconnects to the lost workers (at their same addresses); once every worker
     * answers, re-plans all of them (fresh shards and empty KV caches), bumps {@link #cacheEpoch()}
     * so that the engine drops what it believed cached, and reports healthy again.
     */
    private void tryRecover() {
        if (recovering || closed) {
            return;
        }
        recovering = true;
        try {
            List<String> addresses = addresses();
            for (int w = 0; w < links.length; w++) {
                if (links[w] == null || !links[w].isOpen()) {
                    links[w] = node.connect(address(addresses.get(w)), Duration.ofSeconds(1));
                    links[w].remoteIdHint(w);
                }
            }
            sendPlans(src -> {
                for (Link l : links) {
                    if (!l.isOpen()) {
                        return "a worker went away during recovery";
                    }
                }
                return null;
            });
            java.util.Arrays.fill(lastPong, System.nanoTime());
            if (sequences != null) {
                sequences.clear();
            }
            epoch++;
            ClusterLog.log("cluster healthy again: every worker answers (workers " + failures.keySet()
                    + " were lost); all re-planned with empty KV caches");
            failures.clear();
            failureDetails.clear();
        } catch (IOException | RuntimeException e) {
            // still degraded; the next heartbeat tries again
        } finally {
            recovering = false;
        }
    }

    @Override
    public long cacheEpoch() {
        return epoch;
    }

    /** Connects to the workers and loads the shards; the coordinator reads only the model's header here. */
    public static DistributedExecutor connect(ClusterConfig config) throws IOException {
        ModelConfig cfg;
        try (Model m = ModelLoader.load(config.model())) {
            cfg = m.config();
        }
        for (int s = 0; s < config.pp(); s++) {
            // validates the head split before any worker is contacted
            new ShardSpec(0, config.tp(), s, config.pp(), 0, cfg.layers()).check(cfg);
        }
        if (config.ep() > 1) {
            checkExperts(cfg, config.ep(), config.expertPlacement());
        }
        return new DistributedExecutor(config, cfg);
    }

    /** Refuses an expert-parallel layout the model cannot take, before any worker is contacted. */
    static void checkExperts(ModelConfig cfg, int ep, int[][][] placement) {
        if (!cfg.moe().enabled()) {
            throw new IllegalArgumentException("--ep " + ep + " needs a model with experts; " + cfg.architecture()
                    + " has none");
        }
        if (placement == null) {
            io.tessera.core.shard.ExpertPlacement.contiguous(cfg.layers(), cfg.moe().experts(), ep);
        } else {
            io.tessera.core.shard.ExpertPlacement.of(ep, cfg.moe().experts(), placement);
            if (placement.length != cfg.layers()) {
                throw new IllegalArgumentException("the expert placement covers " + placement.length
                        + " layers, the model has " + cfg.layers());
            }
        }
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("worker address '" + hostPort + "' is not HOST:PORT");
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /** The workers' current addresses: a local worker restarted on another port has moved. */
    private List<String> addresses() {
        LocalCluster local = ownedWorkers;
        return local != null ? local.addresses() : config.workers();
    }

    private ShardPlan plan(int w, List<String> addresses) {
        int tp = config.tp();
        int width = config.stageWidth();
        int stage = w / width;
        int epRank = w % width / tp;
        return new ShardPlan(config.model().toAbsolutePath().toString(), w, w % tp, tp, stage, config.pp(),
                stageBounds[stage], stageBounds[stage + 1], config.kvType().name(), config.numBlocks(),
                config.blockSize(), config.threadsPerWorker(), config.wire().name(), config.stepTimeoutMillis(),
                addresses, epRank, config.ep(), config.ep() > 1 ? config.expertPlacement() : null);
    }

    /** The index of the worker this link is the current connection to, or -1 for a replaced link. */
    private int workerOf(Link link) {
        for (int w = 0; w < links.length; w++) {
            if (links[w] == link) {
                return w;
            }
        }
        return -1;
    }

    private void onFrame(Link link, Frame f) {
        int k = workerOf(link);
        if (k < 0) {
            return; // a connection given up on (replaced during recovery, or one whose handshake timed out)
        }
        switch (f.type()) {
            case PONG -> lastPong[k] = System.nanoTime();
            case ERROR -> {
                if (f.tag() >= planTag) {
                    markFailed(k, "worker " + k + " failed (details in the coordinator's log)",
                            "worker " + k + " (" + addresses().get(k) + ") failed: "
                                    + new String(f.payload(), StandardCharsets.UTF_8));
                }
            }
            default -> replies.put(new Frame(f.type(), k, f.tag(), f.payload()));
        }
    }

    private void onClose(Link link) {
        int w = workerOf(link);
        if (!closed && w >= 0) {
            markFailed(w, "worker " + w + " lost: connection closed",
                    "worker " + w + " (" + addresses().get(w) + ") lost: connection closed");
        }
    }

    /**
     * Records a failure and tells every reachable worker to give up the steps sent so far.
     *
     * @param why for clients: names the worker by index only
     * @param detail for the log: with its address and what it said
     */
    private void markFailed(int w, String why, String detail) {
        if (failures.putIfAbsent(w, why) == null) {
            failureDetails.put(w, detail);
            ClusterLog.log(detail + "; requests fail until it is back");
            long tag = tags.get();
            for (Link l : links) {
                if (l != null && l.isOpen()) {
                    l.send(MessageType.ABORT, tag, new byte[0]);
                }
            }
        }
    }

    private void ping() {
        if (!failures.isEmpty()) {
            tryRecover();
            return;
        }
        long now = System.nanoTime();
        for (int w = 0; w < links.length; w++) {
            if (links[w] == null) {
                continue;
            }
            if (now - lastPong[w] > TimeUnit.MILLISECONDS.toNanos(config.deadAfterMillis())) {
                String silence = "lost: no answer for " + (now - lastPong[w]) / 1_000_000 + " ms";
                markFailed(w, "worker " + w + " " + silence, "worker " + w + " (" + addresses().get(w) + ") " + silence);
                return;
            }
            if (links[w].isOpen()) {
                links[w].send(MessageType.PING, 0, new byte[0]);
            }
        }
    }

    private String failure(int source) {
        if (failures.isEmpty()) {
            return null;
        }
        return "cluster degraded: " + String.join("; ", failures.values());
    }


    @Override
    public String health() {
        return failure(0);
    }

    /** The worker processes this executor started (null when it was given addresses). */
    public LocalCluster ownedWorkers() {
        return ownedWorkers;
    }

    /** Worker processes this executor started; they are killed when it closes. */
    public void ownWorkers(LocalCluster workers) {
        this.ownedWorkers = workers;
    }

    public boolean healthy() {
        return failures.isEmpty();
    }

    @Override
    public ModelConfig modelConfig() {
        return modelConfig;
    }

    @Override
    public int blockSize() {
        return config.blockSize();
    }

    @Override
    public int numBlocks() {
        return config.numBlocks();
    }

    @Override
    public long blockBytes() {
        return kvBytesPerBlock;
    }

    public ClusterConfig config() {
        return config;
    }

    /** Layer boundaries of the pipeline stages: stage s runs [b[s], b[s+1]). */
    public int[] stageBounds() {
        return stageBounds.clone();
    }

    /** What each worker reported when it loaded (bytes of weights, copies, KV cache). */
    public List<JsonNode> workerFacts() {
        return List.copyOf(facts);
    }

    public WireCounters counters() {
        return node.counters();
    }

    @Override
    public StepResult execute(StepInput input) {
        if (input.layerSink() != null) {
            throw new IllegalArgumentException("a distributed executor has no KV block access: no layer-wise KV push");
        }
        String bad = failure(0);
        if (bad != null) {
            throw new ClusterException(bad);
        }
        List<BatchCodec.Chunk> chunks = BatchCodec.chunks(input.batch());
        List<List<BatchCodec.Chunk>> parts = BatchCodec.split(chunks, config.microBatches());
        int ep = config.ep();
        int width = config.stageWidth();
        long[] partTags = new long[parts.size()];
        // [part][epRank]: the sequences of each micro-batch each expert-parallel rank computes
        List<List<List<BatchCodec.Chunk>>> byRank = new ArrayList<>();
        int[] none = new int[0];
        for (int i = 0; i < parts.size(); i++) {
            partTags[i] = tags.incrementAndGet();
            int[] from = i == 0 ? input.copyFrom() : none;
            int[] to = i == 0 ? input.copyTo() : none;
            List<List<BatchCodec.Chunk>> ranks = sequences == null ? List.of(parts.get(i))
                    : sequences.split(parts.get(i), from, to);
            byRank.add(ranks);
            byte[][] payloads = new byte[ranks.size()][];
            for (int r = 0; r < ranks.size(); r++) {
                payloads[r] = BatchCodec.encode(i, parts.size(), from, to, ranks.get(r));
            }
            for (int w = 0; w < links.length; w++) {
                links[w].send(MessageType.STEP, partTags[i], payloads[ep > 1 ? w % width / config.tp() : 0]);
            }
        }
        int vocab = modelConfig.vocabSize();
        int rows = input.batch().logitCount();
        float[] logits = new float[rows * vocab];
        int lastStage = (config.pp() - 1) * width;
        int row = 0;
        for (int i = 0; i < parts.size(); i++) {
            // each rank's rows come in its chunks' order; the chunks of the part give the merged order
            float[][] got = new float[ep][];
            int[] cursor = new int[ep];
            for (int r = 0; r < ep; r++) {
                if (!byRank.get(i).get(r).isEmpty()) {
                    got[r] = takeLogits(lastStage + r * config.tp(), partTags[i], vocab);
                }
            }
            for (BatchCodec.Chunk c : parts.get(i)) {
                int r = ep == 1 ? 0 : rankOf(byRank.get(i), c);
                int n = switch (c.logits()) {
                    case NONE -> 0;
                    case LAST -> 1;
                    case ALL -> c.tokens().length;
                };
                if (n == 0) {
                    continue;
                }
                if (got[r] == null || (cursor[r] + n) * vocab > got[r].length || row + n > rows) {
                    throw new ClusterException("worker " + (lastStage + r * config.tp()) + " sent too few logits rows");
                }
                System.arraycopy(got[r], cursor[r] * vocab, logits, row * vocab, n * vocab);
                cursor[r] += n;
                row += n;
            }
            for (int r = 0; r < ep; r++) {
                if (got[r] != null && cursor[r] * vocab != got[r].length) {
                    throw new ClusterException("worker " + (lastStage + r * config.tp()) + " sent "
                            + got[r].length / vocab + " logits rows, expected " + cursor[r]);
                }
            }
        }
        if (row != rows) {
            throw new ClusterException("got " + row + " logits rows, expected " + rows);
        }
        return new StepResult(logits, rows, vocab);
    }

    private static int rankOf(List<List<BatchCodec.Chunk>> ranks, BatchCodec.Chunk c) {
        for (int r = 0; r < ranks.size(); r++) {
            for (BatchCodec.Chunk x : ranks.get(r)) {
                if (x == c) {
                    return r;
                }
            }
        }
        throw new IllegalStateException("a chunk was given to no rank");
    }

    /** The logits rows worker {@code w} sends for the micro-batch {@code tag}, row-major. */
    private float[] takeLogits(int w, long tag, int vocab) {
        Frame f = replies.take(MessageType.LOGITS, w, tag, config.stepTimeoutMillis(), this::failure);
        ByteBuffer b = ByteBuffer.wrap(f.payload()).order(ByteOrder.LITTLE_ENDIAN);
        int r = b.getInt();
        int v = b.getInt();
        if (v != vocab || r < 0 || (long) r * v * 4 + 8 != f.payload().length) {
            throw new ClusterException("worker " + w + " sent " + r + " × " + v + " logits, expected rows of " + vocab);
        }
        float[] out = new float[r * v];
        b.asFloatBuffer().get(out);
        return out;
    }

    /**
     * Tokens routed to each expert of each layer, summed over the workers' counters
     * ([layer][expert]), or null for a model without experts. Each token is counted by the worker
     * that routed it: under expert parallelism its home rank, under tensor parallelism rank 0 of its
     * stage (every rank of a stage routes the same tokens), under pipeline parallelism the stage
     * of the layer.
     */
    @Override
    public long[][] expertLoad() {
        if (!modelConfig.moe().enabled()) {
            return null;
        }
        try {
            return sumExpertLoad(workerStats());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The summed {@code expertLoad} of worker counters; tensor-parallel ranks other than 0 are skipped. */
    public long[][] sumExpertLoad(List<JsonNode> stats) {
        long[][] sum = new long[modelConfig.layers()][modelConfig.moe().experts()];
        for (int w = 0; w < stats.size(); w++) {
            JsonNode load = stats.get(w).get("expertLoad");
            if (load == null || w % config.tp() != 0) {
                continue;
            }
            for (int l = 0; l < sum.length && l < load.size(); l++) {
                for (int e = 0; e < sum[l].length && e < load.get(l).size(); e++) {
                    sum[l][e] += load.get(l).get(e).asLong();
                }
            }
        }
        return sum;
    }

    /** Counters of every worker (steps, busy and waiting time, bytes sent by type), after all earlier steps. */
    public synchronized List<JsonNode> workerStats() throws IOException {
        long tag = tags.incrementAndGet();
        for (Link l : links) {
            l.send(MessageType.STATS, tag, new byte[0]);
        }
        List<JsonNode> out = new ArrayList<>();
        for (int w = 0; w < links.length; w++) {
            out.add(JSON.readTree(replies.take(MessageType.STATS, w, tag, config.stepTimeoutMillis(), this::failure)
                    .payload()));
        }
        return out;
    }

    /**
     * The workers' KV blocks as one whole-model cache that a KV connector writes loaded blocks into,
     * re-sharded to each worker's layers and heads (a decode instance fed by a prefill instance of
     * other degrees); they cannot be read back.
     */
    @Override
    public KvBlockIo kvBlocks() {
        if (config.ep() > 1) {
            // a sequence's KV lives on the expert-parallel rank that computes its attention, which
            // ShardedKvBlocks (cut by KV heads over the TP ranks) does not know
            return null;
        }
        return new ShardedKvBlocks(modelConfig, config.kvType(), config.tp(), stageBounds, config.blockSize(),
                w -> links[w], () -> planTag);
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "distributed, tp %d × pp %d%s over %d workers (stages %s), %d thread(s) each, "
                + "KV %s %d blocks × %d, %d micro-batch(es), %s wire", config.tp(), config.pp(),
                config.ep() > 1 ? " × ep " + config.ep() : "", links.length,
                java.util.Arrays.toString(stageBounds), config.threadsPerWorker(),
                config.kvType().name().toLowerCase(Locale.ROOT), config.numBlocks(), config.blockSize(),
                config.microBatches(), config.wire().name().toLowerCase(Locale.ROOT));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        heartbeat.shutdownNow();
        for (Link l : links) {
            if (l != null && l.isOpen()) {
                l.send(MessageType.RELEASE, 0, new byte[0]);
                l.close();
            }
        }
        node.close();
        if (ownedWorkers != null) {
            ownedWorkers.close();
        }
    }
}
