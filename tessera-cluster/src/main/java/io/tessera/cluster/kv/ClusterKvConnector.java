package io.tessera.cluster.kv;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.Tls;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.connector.PrefixQuery;
import io.tessera.engine.executor.KvBlockIo;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Prefill/decode KV transfer over the cluster transport (token-authenticated {@link Node}, TLS when
 * configured), by pull:
 *
 * <ul>
 *   <li>Prefill side (produce): a finished request that produces KV stays pinned under its transfer
 *       id. A decode instance's {@code KV_PULL} names the id, the first block and the tokens it
 *       wants, and its cache layout (precision, layers, KV width, block size), which must equal
 *       this one's; the blocks go back as {@code KV_BLOCK} frames, layer by layer (every block of
 *       layer 0, then layer 1...), in the cache's own precision, then {@code KV_DONE}, and the pin is
 *       released. A transfer is pulled once; one not pulled within the timeout is released.
 *   <li>Decode side (consume): a request whose prompt was prefilled elsewhere pulls all its prompt
 *       tokens but the last from the address its transfer names and writes each block layer into
 *       its freshly allocated blocks as it arrives. An ERROR, a closed connection or the timeout
 *       fails the load, and the engine computes the prompt itself.
 * </ul>
 *
 * Replicas also fetch prompt prefixes from each other over the same frames ({@link PeerPrefixFetch}).
 *
 * <p>Invariant: a load's blocks are written only under its lock while it is open, and it is closed
 * (under the same lock) before its end is reported, so no write reaches a block after the engine
 * may have handed it out again.
 */
public final class ClusterKvConnector implements KvConnector, AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Bytes before a KV_BLOCK's data: u32 layer, u32 block index. */
    private static final int BLOCK_HEADER = 8;

    private final KvBlockIo io;
    private final KvTransferConfig config;
    private final int blockSize;
    private final Node node;
    private final InetSocketAddress listening;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tessera-kv-timers");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
    private volatile Runnable wakeup = () -> { };

    /** Prefill side: pinned transfers by id. */
    private final Map<String, Pin> pins = new ConcurrentHashMap<>();
    /** Decode side: loads in flight by pull tag (the engine's load id). */
    private final Map<Long, Load> loads = new ConcurrentHashMap<>();
    private final Map<String, Link> links = new ConcurrentHashMap<>();
    /** Prefix fetches between replicas, both sides. */
    private final PeerPrefixFetch prefixes;

    private final AtomicLong pullsServed = new AtomicLong();
    private final AtomicLong pullsRefused = new AtomicLong();
    private final AtomicLong pinsExpired = new AtomicLong();
    private final AtomicLong loadsDone = new AtomicLong();
    private final AtomicLong loadsFailed = new AtomicLong();
    private final AtomicLong loadsTimedOut = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong tokensSent = new AtomicLong();
    private final AtomicLong tokensReceived = new AtomicLong();

    private record Pin(long pinId, int[] blocks, int tokens, ScheduledFuture<?> expiry) {
    }

    /** One pull in flight on the decode side. */
    private static final class Load {
        final long id;
        final int[] table;
        final int fromBlock;
        final int blocks;
        final int tokens;
        final int layers;
        final Link link;
        /** A peer prefix fetch: the peer may send fewer blocks than asked, its KV_DONE says how many. */
        final boolean partial;
        int received;
        boolean closed;
        ScheduledFuture<?> timeout;

        Load(long id, int[] table, int fromBlock, int blocks, int tokens, int layers, Link link, boolean partial) {
            this.id = id;
            this.partial = partial;
            this.table = table;
            this.fromBlock = fromBlock;
            this.blocks = blocks;
            this.tokens = tokens;
            this.layers = layers;
            this.link = link;
        }
    }

    /**
     * @param io the executor's KV blocks
     * @param token the cluster token both sides share
     * @param tls TLS for KV connections, or null
     */
    public ClusterKvConnector(KvBlockIo io, int blockSize, KvTransferConfig config, String token, Tls tls)
            throws InterruptedException {
        this.io = io;
        this.config = config;
        this.blockSize = blockSize;
        this.node = new Node(token, 0, this::onFrame, this::onClose, tls);
        node.maxFrame(Math.max(Node.CONTROL_FRAME_BYTES, Frame.HEADER_BYTES + BLOCK_HEADER + io.blockLayerBytes()));
        this.listening = config.produce() ? node.listen(config.listenHost(), config.listenPort()) : null;
        this.prefixes = new PeerPrefixFetch(blockSize, io.layout(), config.produce(), this::sendBlocks, senders,
                this::report);
    }

    /** The address pulls are served on (null when this instance only consumes). */
    public InetSocketAddress address() {
        return listening;
    }

    // ---------------------------------------------------------------- scheduler half

    @Override
    public int loadableTokens(KvTransfer transfer, int promptLength, int localTokens) {
        if (transfer.role() == KvTransfer.Role.PEER_PREFIX) {
            return prefixes.fetchableTokens(config, transfer, promptLength, localTokens);
        }
        // the prefill instance computed the whole prompt; the last token is computed here for its logits
        return config.consume() ? promptLength - 1 : 0;
    }

    @Override
    public void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken) {
        Map<String, Object> pull = new LinkedHashMap<>();
        pull.put("transfer_id", transfer.transferId());
        pull.put("from_block", fromToken / blockSize);
        pull.put("tokens", toToken);
        pull.put("layout", io.layout());
        startPull(loadId, transfer, blockTable, fromToken, toToken, pull, false);
    }

    @Override
    public void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken,
            int[] promptTokens) {
        if (transfer.role() != KvTransfer.Role.PEER_PREFIX) {
            startLoad(loadId, transfer, blockTable, fromToken, toToken);
            return;
        }
        startPull(loadId, transfer, blockTable, fromToken, toToken, prefixes.query(promptTokens, fromToken, toToken),
                true);
    }

    /** Sends a KV_PULL for tokens {@code [fromToken, toToken)} from the transfer's address, off the engine thread. */
    private void startPull(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken,
            Map<String, Object> pull, boolean partial) {
        int fromBlock = fromToken / blockSize;
        int blocks = (toToken + blockSize - 1) / blockSize - fromBlock;
        senders.execute(() -> {
            Link link;
            try {
                link = link(transfer.remoteHost(), transfer.remotePort());
            } catch (IOException e) {
                loadsFailed.incrementAndGet();
                report(Event.failed(loadId, "cannot reach the prefill instance: " + e.getMessage()));
                return;
            }
            Load load = new Load(loadId, blockTable, fromBlock, blocks, toToken, io.layers(), link, partial);
            loads.put(loadId, load);
            load.timeout = timers.schedule(() -> {
                if (end(load, "no KV within " + config.timeout().toMillis() + " ms")) {
                    loadsTimedOut.incrementAndGet();
                }
            }, config.timeout().toMillis(), TimeUnit.MILLISECONDS);
            try {
                link.send(MessageType.KV_PULL, loadId, JSON.writeValueAsBytes(pull));
            } catch (IOException e) {
                end(load, "cannot send the pull: " + e.getMessage());
            }
        });
    }

    @Override
    public void cancelLoad(long loadId) {
        Load load = loads.get(loadId);
        if (load != null) {
            end(load, "cancelled");
        }
        // a load not registered yet ends when it fails or completes; its blocks stay held until then
    }

    @Override
    public boolean requestFinished(KvTransfer transfer, int[] blockTable, int computedTokens, long pinId) {
        if (!config.produce()) {
            return false;
        }
        String id = transfer.transferId();
        ScheduledFuture<?> expiry = timers.schedule(() -> {
            Pin p = pins.get(id);
            if (p != null && p.pinId() == pinId && pins.remove(id, p)) {
                pinsExpired.incrementAndGet();
                ClusterLog.log("kv transfer " + id + " was not pulled within " + config.timeout().toMillis()
                        + " ms; its blocks are released");
                report(Event.released(pinId));
            }
        }, config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        Pin old = pins.put(id, new Pin(pinId, blockTable, computedTokens, expiry));
        if (old != null) {
            // the same id used twice: the newer request's blocks win, the older pin ends now
            old.expiry().cancel(false);
            report(Event.released(old.pinId()));
        }
        return true;
    }

    @Override
    public void drainEvents(Consumer<Event> sink) {
        for (Event e; (e = events.poll()) != null; ) {
            sink.accept(e);
        }
    }

    @Override
    public void drainPrefixQueries(Consumer<PrefixQuery> sink) {
        prefixes.drain(sink);
    }

    @Override
    public void wakeup(Runnable wakeup) {
        this.wakeup = wakeup;
        prefixes.wakeup(wakeup);
    }

    @Override
    public String refuses(KvTransfer transfer) {
        if (transfer.role() == KvTransfer.Role.PEER_PREFIX) {
            return null; // a hint: one this instance cannot use is ignored at admission (loadableTokens)
        }
        if (transfer.role() == KvTransfer.Role.PRODUCE) {
            return config.produce() ? null : "this server does not prefill for others (--kv-role decode)";
        }
        if (!config.consume()) {
            return "this server does not decode for others (--kv-role prefill)";
        }
        String peer = transfer.remoteHost() + ":" + transfer.remotePort();
        return config.peers().contains(peer) ? null : "the KV address " + peer + " is not one of this server's "
                + "--kv-peers";
    }

    @Override
    public Map<String, Object> producerParams(String transferId) {
        if (listening == null) {
            return Map.of();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("transfer_id", transferId);
        m.put("remote_host", config.advertiseHost());
        m.put("remote_port", listening.getPort());
        return m;
    }

    @Override
    public Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("pulls_served", pullsServed.get());
        m.put("pulls_refused", pullsRefused.get());
        m.put("pins_expired", pinsExpired.get());
        m.put("pinned_transfers", (long) pins.size());
        m.put("loads_done", loadsDone.get());
        m.put("loads_failed", loadsFailed.get());
        m.put("loads_timed_out", loadsTimedOut.get());
        m.put("bytes_sent", bytesSent.get());
        m.put("bytes_received", bytesReceived.get());
        m.put("tokens_sent", tokensSent.get());
        m.put("tokens_received", tokensReceived.get());
        m.putAll(prefixes.counters());
        return m;
    }

    private void report(Event e) {
        events.add(e);
        wakeup.run();
    }

    // ---------------------------------------------------------------- executor half, on the wire

    private Link link(String host, int port) throws IOException {
        String key = host + ":" + port;
        Link l = links.get(key);
        if (l != null && l.isOpen()) {
            return l;
        }
        synchronized (links) {
            l = links.get(key);
            if (l == null || !l.isOpen()) {
                l = node.connect(new InetSocketAddress(host, port), Duration.ofSeconds(5));
                links.put(key, l);
            }
            return l;
        }
    }

    /** On a Netty I/O thread: must not block. */
    private void onFrame(Link link, Frame f) {
        switch (f.type()) {
            case KV_PULL -> senders.execute(() -> serve(link, f));
            case KV_BLOCK -> received(f);
            case KV_DONE -> {
                Load load = loads.get(f.tag());
                if (load != null) {
                    done(load, f.payload());
                }
            }
            case ERROR -> {
                Load load = loads.get(f.tag());
                if (load != null) {
                    end(load, "the prefill instance refused: " + new String(f.payload(), StandardCharsets.UTF_8));
                }
            }
            default -> link.refuse(f.tag(), "unexpected " + f.type() + " on a KV transfer connection");
        }
    }

    private void onClose(Link link) {
        links.values().remove(link);
        for (Load load : loads.values()) {
            if (load.link == link) {
                end(load, "the connection to the prefill instance closed");
            }
        }
    }

    /** Prefill side, on a sender thread: checks a pull and streams its blocks, layer by layer. */
    private void serve(Link link, Frame f) {
        String id;
        int fromBlock;
        int tokens;
        String layout;
        try {
            JsonNode j = JSON.readTree(f.payload());
            if (j == null || !j.isObject()) {
                throw new IOException("not an object");
            }
            if (PeerPrefixFetch.isQuery(j)) {
                String refusal = prefixes.accept(link, f.tag(), j);
                if (refusal != null) {
                    link.send(MessageType.ERROR, f.tag(), refusal.getBytes(StandardCharsets.UTF_8));
                }
                return;
            }
            id = j.path("transfer_id").asText();
            fromBlock = j.path("from_block").asInt(-1);
            tokens = j.path("tokens").asInt(-1);
            layout = j.path("layout").asText();
        } catch (IOException e) {
            refuse(link, f.tag(), "a KV pull must be JSON");
            return;
        }
        // a transfer is pulled once, whether the pull succeeds or not: the decode side computes the
        // prompt itself after a refusal, so nobody will want these blocks again
        Pin pin = pins.remove(id);
        if (pin == null) {
            refuse(link, f.tag(), "no KV transfer '" + id + "' here (never produced, already pulled, or expired)");
            return;
        }
        pin.expiry().cancel(false);
        int lastBlock = (tokens + blockSize - 1) / blockSize;
        if (!layout.equals(io.layout())) {
            refuse(link, f.tag(), "KV cache layouts differ: this instance has " + io.layout() + ", the pull wants "
                    + layout);
            report(Event.released(pin.pinId()));
            return;
        }
        if (fromBlock < 0 || tokens < 1 || tokens > pin.tokens() || fromBlock >= lastBlock
                || lastBlock > pin.blocks().length) {
            refuse(link, f.tag(), "transfer '" + id + "' holds " + pin.tokens() + " tokens; blocks from " + fromBlock
                    + " for " + tokens + " tokens were asked");
            report(Event.released(pin.pinId()));
            return;
        }
        try {
            sendBlocks(link, f.tag(), java.util.Arrays.copyOfRange(pin.blocks(), fromBlock, lastBlock),
                    lastBlock - fromBlock);
            link.send(MessageType.KV_DONE, f.tag(), new byte[0]);
            pullsServed.incrementAndGet();
            tokensSent.addAndGet(tokens - (long) fromBlock * blockSize);
        } catch (IOException e) {
            pullsRefused.incrementAndGet();
            ClusterLog.log("kv transfer " + id + " to " + link.remoteAddress() + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // every block was copied out (or the pull failed): the engine may free them
            report(Event.released(pin.pinId()));
        }
    }

    /**
     * Sends blocks {@code [0, count)} of {@code blocks} as KV_BLOCK frames of the pull {@code tag}, layer
     * by layer (every block of layer 0, then layer 1...), each frame's block index counted from the
     * first; waits for each frame to reach the socket, so a transfer never queues whole in memory.
     * The blocks must be pinned by the caller. Returns the bytes sent.
     */
    private long sendBlocks(Link link, long tag, int[] blocks, int count) throws IOException, InterruptedException {
        int lb = io.blockLayerBytes();
        long start = System.nanoTime();
        long sent = 0;
        for (int layer = 0; layer < io.layers(); layer++) {
            for (int b = 0; b < count; b++) {
                byte[] payload = new byte[BLOCK_HEADER + lb];
                ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).putInt(layer).putInt(b);
                io.readBlockLayer(layer, blocks[b], payload, BLOCK_HEADER);
                config.shaping().pace(start, sent);
                if (!link.sendAndWait(MessageType.KV_BLOCK, tag, payload)) {
                    throw new IOException("the receiving instance's connection failed");
                }
                sent += payload.length + Frame.HEADER_BYTES;
            }
        }
        bytesSent.addAndGet(sent);
        return sent;
    }

    private void refuse(Link link, long tag, String why) {
        pullsRefused.incrementAndGet();
        link.send(MessageType.ERROR, tag, why.getBytes(StandardCharsets.UTF_8));
    }

    /** Decode side, on the I/O thread: one block layer into its fresh block. */
    private void received(Frame f) {
        Load load = loads.get(f.tag());
        if (load == null) {
            return; // a load that ended (timed out, cancelled): nothing more is written
        }
        ByteBuffer b = ByteBuffer.wrap(f.payload()).order(ByteOrder.LITTLE_ENDIAN);
        if (f.payload().length != BLOCK_HEADER + io.blockLayerBytes()) {
            end(load, "a KV block of " + f.payload().length + " bytes, expected " + (BLOCK_HEADER + io.blockLayerBytes()));
            return;
        }
        int layer = b.getInt();
        int index = b.getInt();
        synchronized (load) {
            if (load.closed) {
                return;
            }
            if (layer < 0 || layer >= load.layers || index < 0 || index >= load.blocks) {
                closeAndReport(load, "a KV block out of range (layer " + layer + ", block " + index + ")");
                return;
            }
            io.writeBlockLayer(layer, load.table[load.fromBlock + index], f.payload(), BLOCK_HEADER);
            load.received++;
        }
        bytesReceived.addAndGet(f.wireBytes());
    }

    private void done(Load load, byte[] done) {
        // a prefix fetch brings the blocks its peer had, as its KV_DONE counts them; a pull all it asked for
        int blocks = load.partial ? PeerPrefixFetch.blocksSent(done, load.blocks) : load.blocks;
        synchronized (load) {
            if (load.closed) {
                return;
            }
            if (blocks < 0) {
                closeAndReport(load, "a prefix fetch's end frame of " + done.length + " bytes is not a block count "
                        + "up to " + load.blocks);
                return;
            }
            if (load.received != load.layers * blocks) {
                closeAndReport(load, "the transfer ended after " + load.received + " of " + load.layers * blocks
                        + " block layers");
                return;
            }
            load.closed = true;
        }
        loads.remove(load.id);
        load.timeout.cancel(false);
        loadsDone.incrementAndGet();
        if (load.partial) {
            int to = (load.fromBlock + blocks) * blockSize;
            tokensReceived.addAndGet(to - (long) load.fromBlock * blockSize);
            prefixes.fetched(to - load.fromBlock * blockSize);
            report(Event.loaded(load.id, to));
        } else {
            tokensReceived.addAndGet(load.tokens - (long) load.fromBlock * blockSize);
            report(Event.loaded(load.id));
        }
    }

    /** Ends a load with an error unless it has ended; true if this call ended it. */
    private boolean end(Load load, String why) {
        synchronized (load) {
            if (load.closed) {
                return false;
            }
            closeAndReport(load, why);
            return true;
        }
    }

    /** Under the load's lock: no write follows, then the engine hears of the failure. */
    private void closeAndReport(Load load, String why) {
        load.closed = true;
        loads.remove(load.id);
        if (load.timeout != null) {
            load.timeout.cancel(false);
        }
        loadsFailed.incrementAndGet();
        ClusterLog.log("kv load " + load.id + " failed: " + why + "; the prompt is computed here");
        report(Event.failed(load.id, why));
    }

    @Override
    public void close() {
        timers.shutdownNow();
        senders.shutdownNow();
        node.close();
    }
}
