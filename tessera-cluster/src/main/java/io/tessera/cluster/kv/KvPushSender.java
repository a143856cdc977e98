package io.tessera.cluster.kv;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.engine.connector.KvConnector.ProducedChunk;
import io.tessera.engine.connector.KvLayerSink;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.executor.KvBlockIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The prefill side of push mode: a request that produces KV for a decode instance sends its block
 * layers there as the forward pass computes them, so the transfer overlaps the prefill.
 *
 * <p>On the executor's thread, after each layer of a step ({@link #layerSink}), every block of a
 * pushed request that became complete at that layer (all the tokens the decode instance loads, the
 * prompt but its last token, that fall in the block are computed) is copied out of the cache into
 * the push's queue. Copying there, while nothing else writes the cache, means the pushed bytes never
 * depend on what happens to the blocks later (a preemption that frees them, an abort): the push pins
 * nothing. A sender thread per push connects to the decode instance, announces the transfer
 * ({@code KV_PUSH}), waits until the decode instance's request has its blocks ({@code KV_PUSH_READY},
 * which says the first block it wants: its own prefix-cache hits are not sent), then sends the
 * queued block layers as {@code KV_BLOCK} frames and, once the request has finished, {@code KV_DONE}.
 * A push that fails (the decode instance refused, its connection closed, the timeout) sends ERROR if
 * it can and drops its queue; the decode instance then computes the prompt itself.
 *
 * <p>Tags: a push's tag has {@link #TAG_BIT} set, so that an instance that both produces and
 * consumes tells an ERROR about its push from one about its load.
 */
final class KvPushSender {

    /** Set in every push tag (load ids, the engine's counter, never reach it). */
    static final long TAG_BIT = 1L << 62;
    /** Bytes before a KV_BLOCK's data: u32 layer, u32 block index. */
    static final int BLOCK_HEADER = 8;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] END = new byte[0];

    /** Opens (or reuses) the authenticated link to a decode instance's KV address. */
    interface Links {
        Link open(String host, int port) throws IOException;
    }

    private final KvBlockIo io;
    private final int blockSize;
    private final KvTransferConfig config;
    private final Links links;
    private final ExecutorService threads;
    private final Map<String, Push> byTransfer = new ConcurrentHashMap<>();
    private final Map<Long, Push> byTag = new ConcurrentHashMap<>();
    private final AtomicLong nextTag = new AtomicLong();

    private final AtomicLong pushesDone = new AtomicLong();
    private final AtomicLong pushesFailed = new AtomicLong();
    private final AtomicLong bytesPushed = new AtomicLong();
    private final AtomicLong tokensPushed = new AtomicLong();
    /** Block layers sent while their request's prefill was still running: the overlap. */
    private final AtomicLong blockLayersBeforeFinish = new AtomicLong();
    /**
     * Block layers handed to a sender by a step that was not its prompt's last chunk: what layer-wise
     * streaming lets leave before the prefill ends (whether they do depends on the link and the sender).
     */
    private final AtomicLong blockLayersReadyEarly = new AtomicLong();

    /** Where the decode instance's request stands: its load's tag and the blocks it wants. */
    private record Ready(long load, int fromBlock, int tokens) {
    }

    /** One request's push. The queue holds copied block layers (header, then bytes) and, last, END. */
    private final class Push {
        final long tag;
        final KvTransfer transfer;
        final int tokens;
        final int blocks;
        /** Per layer, how many blocks are queued; written on the executor thread only. */
        final int[] queued;
        final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
        final CompletableFuture<Ready> ready = new CompletableFuture<>();
        volatile boolean finished;
        volatile String failure;
        volatile Link link;

        Push(long tag, KvTransfer transfer, int promptLength) {
            this.tag = tag;
            this.transfer = transfer;
            this.tokens = promptLength - 1;
            this.blocks = (tokens + blockSize - 1) / blockSize;
            this.queued = new int[io.layers()];
        }

        /** On the executor thread: queues the blocks of {@code layer} complete once tokens [0, end) are stored. */
        void layerStored(int layer, int[] table, int end) {
            if (failure != null) {
                return;
            }
            int complete = Math.min(blocks, end >= tokens ? blocks : end / blockSize);
            for (int b = queued[layer]; b < complete; b++) {
                byte[] payload = new byte[BLOCK_HEADER + io.blockLayerBytes()];
                ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).putInt(layer).putInt(b);
                io.readBlockLayer(layer, table[b], payload, BLOCK_HEADER);
                queue.add(payload);
                if (end < tokens + 1) {
                    blockLayersReadyEarly.incrementAndGet();
                }
            }
            queued[layer] = Math.max(queued[layer], complete);
        }

        void fail(String why) {
            if (failure == null) {
                failure = why;
            }
            queue.add(END);
        }
    }

    KvPushSender(KvBlockIo io, int blockSize, KvTransferConfig config, Links links, ExecutorService threads) {
        this.io = io;
        this.blockSize = blockSize;
        this.config = config;
        this.links = links;
        this.threads = threads;
    }

    /** The hook for one step's pushed chunks, or null when none of them is pushed. */
    KvLayerSink layerSink(List<ProducedChunk> chunks) {
        List<ProducedChunk> pushed = new ArrayList<>();
        List<Push> pushes = new ArrayList<>();
        for (ProducedChunk c : chunks) {
            if (!c.transfer().push() || c.promptLength() < 2) {
                continue;
            }
            Push p = byTransfer.computeIfAbsent(c.transfer().transferId(), id -> start(c.transfer(), c.promptLength()));
            if (p.transfer != c.transfer()) {
                continue; // another request reuses the id while the first push runs: it pushes nothing
            }
            pushed.add(c);
            pushes.add(p);
        }
        if (pushed.isEmpty()) {
            return null;
        }
        return layer -> {
            for (int i = 0; i < pushed.size(); i++) {
                pushes.get(i).layerStored(layer, pushed.get(i).blockTable(), pushed.get(i).end());
            }
        };
    }

    private Push start(KvTransfer transfer, int promptLength) {
        Push p = new Push(TAG_BIT | nextTag.getAndIncrement(), transfer, promptLength);
        byTag.put(p.tag, p);
        threads.execute(() -> send(p));
        return p;
    }

    /** The request finished normally: every block layer is queued; the push ends after them. */
    void finished(KvTransfer transfer) {
        Push p = byTransfer.get(transfer.transferId());
        if (p != null && p.transfer == transfer) {
            byTransfer.remove(transfer.transferId(), p);
            p.finished = true;
            p.queue.add(END);
        }
    }

    /** The request ended early (aborted, failed): the decode instance is told, and computes the prompt itself. */
    void abandon(KvTransfer transfer) {
        Push p = byTransfer.get(transfer.transferId());
        if (p != null && p.transfer == transfer) {
            byTransfer.remove(transfer.transferId(), p);
            p.fail("the prefill request ended before its prompt was computed");
        }
    }

    /** KV_PUSH_READY from the decode instance. */
    void ready(Frame f) {
        Push p = byTag.get(f.tag());
        if (p == null) {
            return;
        }
        try {
            JsonNode j = JSON.readTree(f.payload());
            p.ready.complete(new Ready(j.path("load").asLong(-1), j.path("from_block").asInt(-1),
                    j.path("tokens").asInt(-1)));
        } catch (IOException e) {
            p.ready.completeExceptionally(new IOException("a KV_PUSH_READY must be JSON"));
        }
    }

    /** An ERROR with a push's tag: the decode instance refused or gave the push up. */
    void refused(long tag, String why) {
        Push p = byTag.get(tag);
        if (p != null) {
            p.ready.completeExceptionally(new IOException("the decode instance refused: " + why));
            p.fail("the decode instance refused: " + why);
        }
    }

    void linkClosed(Link link) {
        for (Push p : byTag.values()) {
            if (p.link == link) {
                p.ready.completeExceptionally(new IOException("the connection to the decode instance closed"));
                p.fail("the connection to the decode instance closed");
            }
        }
    }

    static boolean isPushTag(long tag) {
        return (tag & TAG_BIT) != 0;
    }

    /** On a sender thread: announces the push, waits for the decode side, then streams the queue. */
    private void send(Push p) {
        Ready ready = null;
        String failure = null;
        try {
            Link link = links.open(p.transfer.remoteHost(), p.transfer.remotePort());
            p.link = link;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("transfer_id", p.transfer.transferId());
            m.put("layout", io.layout());
            m.put("tokens", p.tokens);
            link.send(MessageType.KV_PUSH, p.tag, JSON.writeValueAsBytes(m));
            ready = p.ready.get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (ready.fromBlock() < 0 || ready.tokens() < 1 || ready.tokens() > p.tokens
                    || ready.fromBlock() * blockSize >= ready.tokens()) {
                throw new IOException("the decode instance wants blocks from " + ready.fromBlock() + " for "
                        + ready.tokens() + " tokens of a push of " + p.tokens);
            }
            int lastBlock = (ready.tokens() + blockSize - 1) / blockSize;
            long start = System.nanoTime();
            long sent = 0;
            while (true) {
                byte[] payload = p.queue.poll(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
                if (payload == null) {
                    throw new IOException("the prefill computed nothing for " + config.timeout().toMillis() + " ms");
                }
                if (payload == END) {
                    if (p.failure != null) {
                        throw new IOException(p.failure);
                    }
                    if (p.finished) {
                        break;
                    }
                    continue;
                }
                ByteBuffer b = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
                int block = b.getInt(4);
                if (block < ready.fromBlock() || block >= lastBlock) {
                    continue; // the decode instance has it in its prefix cache, or does not load it
                }
                b.putInt(4, block - ready.fromBlock());
                config.shaping().pace(start, sent);
                boolean beforeFinish = !p.finished;
                if (!link.sendAndWait(MessageType.KV_BLOCK, ready.load(), payload)) {
                    throw new IOException("the decode instance's connection failed");
                }
                sent += payload.length + Frame.HEADER_BYTES;
                if (beforeFinish) {
                    blockLayersBeforeFinish.incrementAndGet();
                }
            }
            link.send(MessageType.KV_DONE, ready.load(), new byte[0]);
            pushesDone.incrementAndGet();
            bytesPushed.addAndGet(sent);
            tokensPushed.addAndGet(ready.tokens() - (long) ready.fromBlock() * blockSize);
        } catch (ExecutionException e) {
            failure = e.getCause().getMessage();
        } catch (TimeoutException e) {
            failure = "the decode instance did not take the push within " + config.timeout().toMillis() + " ms";
        } catch (IOException e) {
            failure = e.getMessage();
        } catch (InterruptedException e) {
            failure = "interrupted";
            Thread.currentThread().interrupt();
        } finally {
            // a failed push stays known by its transfer until its request ends, so that the request's
            // later chunks queue nothing and start no second push
            p.failure = p.failure == null ? "the push ended" : p.failure;
            byTag.remove(p.tag);
            p.queue.clear();
        }
        if (failure != null) {
            pushesFailed.incrementAndGet();
            Link link = p.link;
            if (ready != null && link != null && link.isOpen()) {
                link.send(MessageType.ERROR, ready.load(), failure.getBytes(StandardCharsets.UTF_8));
            }
            ClusterLog.log("kv push " + p.transfer.transferId() + " to " + p.transfer.remoteHost() + ":"
                    + p.transfer.remotePort() + " failed: " + failure);
        }
    }

    /** Pushes in flight (announced, not yet done or failed). */
    int inFlight() {
        return byTag.size();
    }

    void counters(Map<String, Long> m) {
        m.put("pushes_done", pushesDone.get());
        m.put("pushes_failed", pushesFailed.get());
        m.put("pushes_in_flight", (long) byTag.size());
        m.put("bytes_pushed", bytesPushed.get());
        m.put("tokens_pushed", tokensPushed.get());
        m.put("block_layers_pushed_during_prefill", blockLayersBeforeFinish.get());
        m.put("block_layers_ready_before_last_chunk", blockLayersReadyEarly.get());
    }
}
