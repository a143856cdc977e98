package io.tessera.cluster.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.cluster.BatchCodec;
import io.tessera.cluster.FrameLimits;
import io.tessera.cluster.ShardPlan;
import io.tessera.cluster.collective.RingCollectives;
import io.tessera.cluster.transport.ClusterException;
import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.HandshakePolicy;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.Tls;
import io.tessera.cluster.transport.Wire;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.shard.Collectives;
import io.tessera.core.shard.ModelShard;
import io.tessera.core.shard.ShardSpec;
import io.tessera.core.forward.DecoderForward;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A worker process: listens for a coordinator, builds the shard it is told to (mapping its own
 * copy of the model file), allocates the KV cache of its heads and layers, then runs every step it
 * is sent — receiving activations from the previous stage, all-reducing with its tensor-parallel
 * ring, and passing activations on (or logits back to the coordinator from the last stage's rank 0).
 *
 * <p>Netty's I/O thread only files frames: PING is answered there (so a busy worker still looks
 * alive), control frames go to the compute thread's queue, data frames to the {@link Mailbox}.
 *
 * <p>A worker serves one coordinator at a time: the first authenticated connection that sends a
 * PLAN is its coordinator until that connection closes (or stays silent for {@link
 * #COORDINATOR_SILENCE_MILLIS}, which a live coordinator's pings never allow); a PLAN from another
 * connection meanwhile gets an ERROR saying so and the connection is closed. Steps, statistics,
 * releases and aborts are taken from the coordinator only.
 */
public final class Worker implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A coordinator silent for this long (no ping) may be replaced by another one. */
    static final long COORDINATOR_SILENCE_MILLIS = 10_000;

    private final Node node;
    private final Mailbox mailbox = new Mailbox();
    private final LinkedBlockingQueue<Control> control = new LinkedBlockingQueue<>();
    private final Set<Integer> lostPeers = ConcurrentHashMap.newKeySet();
    private final Map<Integer, Link> peerLinks = new ConcurrentHashMap<>();
    private final Thread compute;
    /** The connection this worker serves; written on the I/O thread only. */
    private volatile Link coordinator;
    private volatile long coordinatorHeardNanos;
    private volatile boolean closed;
    private volatile long abortUpTo;
    private long currentTag;

    private ShardPlan plan;
    private ModelShard shard;
    private PagedKvCache cache;
    private Parallel parallel;
    private DecoderForward forward;
    private RingCollectives ring;
    private long busyNanos;
    private long waitNanos;
    private long steps;

    /** A frame for the compute thread, with the connection it came on. */
    private record Control(Link link, Frame frame) {
    }

    public Worker(String token) {
        this(token, HandshakePolicy.DEFAULT);
    }

    /** @param handshake what connections that have not authenticated may do */
    public Worker(String token, HandshakePolicy handshake) {
        this.node = new Node(token, Short.MAX_VALUE, this::onFrame, this::onClose, Tls.fromEnvironment(), handshake);
        this.compute = new Thread(this::computeLoop, "tessera-worker");
        this.compute.setDaemon(true);
    }

    /** Starts listening and the compute thread; returns the bound address. */
    public InetSocketAddress start(String host, int port) throws InterruptedException {
        InetSocketAddress a = node.listen(host, port);
        compute.start();
        return a;
    }

    public void awaitClose() throws InterruptedException {
        compute.join();
    }

    private void onFrame(Link link, Frame f) {
        if (link == coordinator) {
            coordinatorHeardNanos = System.nanoTime();
        }
        switch (f.type()) {
            case PING -> link.send(MessageType.PONG, f.tag(), new byte[0]);
            case ABORT -> {
                if (link == coordinator) {
                    abortUpTo = Math.max(abortUpTo, f.tag());
                }
            }
            case PLAN -> {
                if (claim(link, f.tag())) {
                    control.add(new Control(link, f));
                }
            }
            case STEP, STATS, RELEASE -> {
                if (link == coordinator) {
                    control.add(new Control(link, f));
                } else {
                    link.send(MessageType.ERROR, f.tag(), (f.type() + " from a connection that is not this worker's "
                            + "coordinator (send a PLAN first)").getBytes(StandardCharsets.UTF_8));
                }
            }
            case ACTIVATION, REDUCE_CHUNK, GATHER_CHUNK -> mailbox.put(f);
            default -> link.send(MessageType.ERROR, f.tag(),
                    ("a worker does not accept " + f.type()).getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Makes {@code link} this worker's coordinator unless another live one holds it; refuses it
     * (ERROR, then close) otherwise. Runs on the I/O thread, so claims are never concurrent.
     */
    private boolean claim(Link link, long tag) {
        Link current = coordinator;
        if (current == link) {
            return true;
        }
        boolean silent = System.nanoTime() - coordinatorHeardNanos > COORDINATOR_SILENCE_MILLIS * 1_000_000L;
        if (current != null && current.isOpen() && !silent) {
            ClusterLog.log("refused a second coordinator from " + link.remoteAddress() + ": serving the one at "
                    + current.remoteAddress());
            link.refuse(tag, "worker busy: it already serves another coordinator, and a worker serves one "
                    + "coordinator at a time (stop that one, or give this one other workers)");
            return false;
        }
        if (current != null) {
            ClusterLog.log("the coordinator at " + current.remoteAddress() + " was silent for more than "
                    + COORDINATOR_SILENCE_MILLIS + " ms; replaced by the one at " + link.remoteAddress());
            current.close();
        }
        coordinator = link;
        coordinatorHeardNanos = System.nanoTime();
        ClusterLog.log("serving the coordinator at " + link.remoteAddress());
        return true;
    }

    private void onClose(Link link) {
        if (link == coordinator) {
            coordinator = null;
            ClusterLog.log("the coordinator at " + link.remoteAddress() + " disconnected; shard released");
            control.add(new Control(link, Frame.of(MessageType.RELEASE, -1, 0)));
        } else if (link.remoteId() >= 0 && link.remoteId() < Short.MAX_VALUE) {
            lostPeers.add(link.remoteId());
        }
    }

    private String peerFailure(int source) {
        if (currentTag <= abortUpTo) {
            return "worker " + plan.workerId() + ": step aborted by the coordinator";
        }
        if (lostPeers.contains(source)) {
            return "worker " + plan.workerId() + ": lost the connection to worker " + source;
        }
        Link c = coordinator;
        if (c == null || !c.isOpen()) {
            return "worker " + plan.workerId() + ": the coordinator went away";
        }
        return null;
    }

    private void computeLoop() {
        while (!closed) {
            Control item;
            try {
                item = control.take();
            } catch (InterruptedException e) {
                break;
            }
            Link link = item.link();
            Frame f = item.frame();
            try {
                switch (f.type()) {
                    case PLAN -> {
                        if (link != coordinator) {
                            continue; // from a coordinator that has gone since
                        }
                        load(JSON.readValue(f.payload(), ShardPlan.class));
                        link.send(MessageType.READY, f.tag(), JSON.writeValueAsBytes(facts()));
                    }
                    case STEP -> {
                        if (link != coordinator) {
                            continue; // left over from a coordinator that has gone
                        }
                        if (shard == null) {
                            throw new ClusterException("a step arrived before a plan");
                        }
                        if (f.tag() <= abortUpTo) {
                            continue;
                        }
                        currentTag = f.tag();
                        step(link, f);
                    }
                    case STATS -> link.send(MessageType.STATS, f.tag(), JSON.writeValueAsBytes(stats()));
                    case RELEASE -> release();
                    default -> {
                    }
                }
            } catch (Exception | OutOfMemoryError e) {
                String msg = plan == null ? "worker: " + e.getMessage()
                        : "worker " + plan.workerId() + " (stage " + plan.stage() + ", tp rank " + plan.tpRank() + "): "
                                + e.getMessage();
                if (link.isOpen()) {
                    link.send(MessageType.ERROR, f.tag(), msg.getBytes(StandardCharsets.UTF_8));
                }
                if (f.type() == MessageType.PLAN) {
                    release();
                }
            }
        }
    }

    private void load(ShardPlan p) throws Exception {
        release();
        long t0 = System.nanoTime();
        this.plan = p;
        node.id(p.workerId());
        lostPeers.clear();
        abortUpTo = 0;
        ShardSpec spec = new ShardSpec(p.tpRank(), p.tpSize(), p.stage(), p.stages(), p.layerFrom(), p.layerTo());
        shard = ModelShard.of(ModelLoader.load(Path.of(p.model())), spec);
        parallel = new Parallel(p.threads());
        int tp = p.tpSize();
        Collectives collectives = Collectives.NONE;
        Wire wire = Wire.parse(p.wire());
        if (tp > 1) {
            int base = p.stage() * tp;
            int nextId = base + (p.tpRank() + 1) % tp;
            int prevId = base + (p.tpRank() + tp - 1) % tp;
            ring = new RingCollectives(p.tpRank(), tp, peer(nextId), prevId, mailbox, wire, p.timeoutMillis(),
                    this::peerFailure);
            collectives = ring;
        }
        if (!spec.lastStage()) {
            peer(p.workerId() + tp);
        }
        forward = new DecoderForward(shard, parallel, collectives);
        cache = new PagedKvCache(forward.layers(), forward.kvHeads(), forward.headDim(), KvCacheType.parse(p.kvType()),
                p.numBlocks(), p.blockSize());
        node.maxFrame(FrameLimits.worker(shard.config(), p.numBlocks(), p.blockSize(), wire));
        busyNanos = 0;
        waitNanos = 0;
        steps = 0;
        loadNanos = System.nanoTime() - t0;
    }

    private long loadNanos;

    private Link peer(int id) throws java.io.IOException {
        Link l = peerLinks.get(id);
        if (l != null && l.isOpen()) {
            return l;
        }
        String[] hp = plan.peers().get(id).split(":");
        l = node.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), Duration.ofSeconds(10));
        peerLinks.put(id, l);
        lostPeers.remove(id);
        return l;
    }

    private Map<String, Object> facts() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("worker", plan.workerId());
        m.put("layers", plan.layerFrom() + ".." + (plan.layerTo() - 1));
        m.put("weightBytes", shard.weightBytes());
        m.put("copiedBytes", shard.copiedBytes());
        m.put("f32FallbackTensors", shard.f32FallbackTensors());
        m.put("kvBytes", cache.byteSize());
        m.put("loadMillis", loadNanos / 1_000_000);
        return m;
    }

    private Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("worker", plan == null ? -1 : plan.workerId());
        m.put("steps", steps);
        m.put("busyNanos", busyNanos);
        m.put("waitNanos", waitNanos);
        m.put("collectiveNanos", forward == null ? 0 : forward.collectiveNanos());
        m.put("sentBytes", node.counters().sentByType());
        return m;
    }

    private void step(Link coordinator, Frame f) throws Exception {
        BatchCodec.Step s = BatchCodec.decode(f.payload());
        for (int i = 0; i < s.copyFrom().length; i++) {
            cache.copyBlock(s.copyFrom()[i], s.copyTo()[i]);
        }
        int tp = plan.tpSize();
        int dim = shard.config().dim();
        int n = s.batch().size();
        Wire wire = Wire.parse(plan.wire());
        float[] input = null;
        if (plan.stage() > 0) {
            long w0 = System.nanoTime();
            Frame a = mailbox.take(MessageType.ACTIVATION, plan.workerId() - tp, f.tag(), plan.timeoutMillis(),
                    this::peerFailure);
            waitNanos += System.nanoTime() - w0;
            input = new float[n * dim];
            wire.decode(a.payload(), 0, input, 0, n * dim);
        }
        long t0 = System.nanoTime();
        if (ring != null) {
            ring.beginStep(f.tag());
        }
        float[] out = forward.forward(s.batch(), cache, input);
        busyNanos += System.nanoTime() - t0;
        steps++;
        if (plan.stage() < plan.stages() - 1) {
            peer(plan.workerId() + tp).send(MessageType.ACTIVATION, f.tag(), wire.encode(out, 0, n * dim));
        } else if (out != null) {
            int rows = s.batch().logitCount();
            int vocab = shard.config().vocabSize();
            ByteBuffer b = ByteBuffer.allocate(8 + rows * vocab * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(rows).putInt(vocab);
            b.asFloatBuffer().put(out, 0, rows * vocab);
            coordinator.send(MessageType.LOGITS, f.tag(), b.array());
        }
    }

    private void release() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
        if (shard != null) {
            shard.close();
            shard = null;
        }
        if (parallel != null) {
            parallel.close();
            parallel = null;
        }
        forward = null;
        ring = null;
        mailbox.clear();
        node.maxFrame(Node.CONTROL_FRAME_BYTES);
    }

    @Override
    public void close() {
        closed = true;
        compute.interrupt();
        node.close();
        release();
    }
}
