package io.tessera.cluster.kv;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.engine.connector.KvConnector.Event;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.connector.PrefixQuery;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Peer prefix fetch: a replica asked to serve a prompt whose prefix another replica holds (in its
 * pool or its offload tiers) fetches those blocks over the KV transfer path instead of computing
 * them. Both sides of it, over {@link ClusterKvConnector}'s frames:
 *
 * <ul>
 *   <li>Fetching side: a request's {@link KvTransfer.Role#PEER_PREFIX} hint names the peer (the router
 *       sets it when it sends a request away from the replica holding its prefix). The whole blocks
 *       of the prompt before its last token, beyond this replica's own prefix-cache hits, are asked
 *       for with a {@code KV_PULL} whose JSON carries {@code prefix_tokens} (the prefix, a whole number
 *       of blocks), {@code from_block} and {@code layout} instead of a transfer id. A peer outside
 *       {@code --kv-peers}, or an instance that does not fetch, ignores the hint (counted): a hint
 *       only saves work, so an unusable one costs the prefill and nothing else.
 *   <li>Holding side: the query goes to the engine thread ({@link PrefixQuery}), which pins the
 *       cached blocks from {@code from_block} up to the first it lacks; they are sent as
 *       {@code KV_BLOCK} frames, layer by layer, then {@code KV_DONE} with a u32 count of the blocks
 *       sent (0 when it has none), and the pin is released whether the send succeeded or not. The
 *       asking side takes that many blocks and computes the rest.
 * </ul>
 *
 * A refusal (malformed query, other layout) is an {@code ERROR} with the pull's tag; the asking side
 * then computes the whole prompt.
 */
final class PeerPrefixFetch {

    /**
     * Most prefix tokens one query names: its JSON must stay well inside a control frame (1 MiB), or
     * the connection would be closed for the frame's size.
     */
    static final int MAX_PREFIX_TOKENS = 65_536;

    /** Sends blocks {@code [0, count)} of {@code blocks} as KV_BLOCK frames of the pull {@code tag}. */
    interface BlockSender {
        long send(Link link, long tag, int[] blocks, int count) throws java.io.IOException, InterruptedException;
    }

    private final int blockSize;
    private final String layout;
    private final boolean serves;
    private final BlockSender sender;
    private final Executor senders;
    private final Consumer<Event> report;
    private final ConcurrentLinkedQueue<PrefixQuery> queries = new ConcurrentLinkedQueue<>();
    private volatile Runnable wakeup = () -> { };

    private final AtomicLong queriesServed = new AtomicLong();
    private final AtomicLong queriesRefused = new AtomicLong();
    private final AtomicLong blocksSent = new AtomicLong();
    private final AtomicLong hintsIgnored = new AtomicLong();
    private final AtomicLong fetches = new AtomicLong();
    private final AtomicLong tokensFetched = new AtomicLong();

    /**
     * @param serves whether this instance answers other replicas' queries (it listens for pulls)
     * @param report how a released pin reaches the engine
     */
    PeerPrefixFetch(int blockSize, String layout, boolean serves, BlockSender sender, Executor senders,
            Consumer<Event> report) {
        this.blockSize = blockSize;
        this.layout = layout;
        this.serves = serves;
        this.sender = sender;
        this.senders = senders;
        this.report = report;
    }

    void wakeup(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    // ---------------------------------------------------------------- fetching side

    /**
     * Tokens of a hinted prompt worth fetching: its whole blocks before the last token (a peer's
     * prefix cache holds whole blocks only), at most {@link #MAX_PREFIX_TOKENS}, when they pass this
     * replica's own hits; 0 when the hint is not usable here.
     */
    int fetchableTokens(KvTransferConfig config, KvTransfer hint, int promptLength, int localTokens) {
        if (!config.consume() || !config.peers().contains(hint.remoteHost() + ":" + hint.remotePort())) {
            if (hintsIgnored.getAndIncrement() == 0) {
                ClusterLog.log("a prefix hint names " + hint.remoteHost() + ":" + hint.remotePort() + ", which is "
                        + (config.consume() ? "not one of --kv-peers" : "unusable: this instance has no --kv-peers")
                        + "; such hints are ignored (counted in prefix_hints_ignored)");
            }
            return 0;
        }
        int whole = Math.min((promptLength - 1) / blockSize * blockSize, MAX_PREFIX_TOKENS);
        return whole > localTokens ? whole : 0;
    }

    /** The KV_PULL of a prefix fetch: tokens {@code [0, toToken)} of the prompt, blocks from {@code fromToken}. */
    Map<String, Object> query(int[] promptTokens, int fromToken, int toToken) {
        fetches.incrementAndGet();
        Map<String, Object> pull = new LinkedHashMap<>();
        pull.put("prefix_tokens", java.util.Arrays.copyOf(promptTokens, toToken));
        pull.put("from_block", fromToken / blockSize);
        pull.put("layout", layout);
        return pull;
    }

    /**
     * Reads a prefix fetch's KV_DONE: the count of blocks the peer sent, or -1 when the frame is not
     * one (wrong size, or more blocks than asked).
     */
    static int blocksSent(byte[] done, int asked) {
        if (done.length != 4) {
            return -1;
        }
        int n = ByteBuffer.wrap(done).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return n >= 0 && n <= asked ? n : -1;
    }

    void fetched(int tokens) {
        tokensFetched.addAndGet(tokens);
    }

    // ---------------------------------------------------------------- holding side

    /** Whether a pull is a prefix query rather than a pinned transfer's. */
    static boolean isQuery(JsonNode pull) {
        return pull.has("prefix_tokens");
    }

    /**
     * Checks a query from a peer and hands it to the engine thread; returns why it is refused, or
     * null when it was queued (the answer follows from a sender thread).
     */
    String accept(Link link, long tag, JsonNode pull) {
        if (!serves) {
            return refused("this instance does not serve prefixes (no --kv-transfer-listen)");
        }
        JsonNode t = pull.get("prefix_tokens");
        if (t == null || !t.isArray() || t.isEmpty() || t.size() > MAX_PREFIX_TOKENS || t.size() % blockSize != 0) {
            return refused("'prefix_tokens' must be an array of 1.." + MAX_PREFIX_TOKENS + " token ids, a whole "
                    + "number of blocks of " + blockSize);
        }
        int[] tokens = new int[t.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode v = t.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                return refused("'prefix_tokens' must hold non-negative integer token ids; item " + i + " is " + v);
            }
            tokens[i] = v.asInt();
        }
        JsonNode from = pull.get("from_block");
        if (from == null || !from.isIntegralNumber() || !from.canConvertToInt() || from.asInt() < 0
                || from.asInt() >= tokens.length / blockSize) {
            return refused("'from_block' must be a block of the prefix (0.." + (tokens.length / blockSize - 1) + ")");
        }
        String theirs = pull.path("layout").asText();
        if (!layout.equals(theirs)) {
            return refused("KV cache layouts differ: this instance has " + layout + ", the query wants " + theirs);
        }
        queries.add(new PrefixQuery(tokens, from.asInt(), pinned -> {
            try {
                senders.execute(() -> send(link, tag, pinned));
            } catch (RejectedExecutionException e) {
                release(pinned); // the connector is closing: nothing will be sent
            }
        }));
        wakeup.run();
        return null;
    }

    private String refused(String why) {
        queriesRefused.incrementAndGet();
        return why;
    }

    /** Hands the queued queries to the engine thread. */
    void drain(Consumer<PrefixQuery> sink) {
        for (PrefixQuery q; (q = queries.poll()) != null; ) {
            sink.accept(q);
        }
    }

    /** On a sender thread: the pinned blocks, then KV_DONE with their count; the pin ends either way. */
    private void send(Link link, long tag, PrefixQuery.Pinned pinned) {
        int n = pinned.blocks().length;
        try {
            if (n > 0) {
                sender.send(link, tag, pinned.blocks(), n);
            }
            link.send(MessageType.KV_DONE, tag, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n)
                    .array());
            queriesServed.incrementAndGet();
            blocksSent.addAndGet(n);
        } catch (java.io.IOException e) {
            queriesRefused.incrementAndGet();
            ClusterLog.log("prefix blocks for " + link.remoteAddress() + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            release(pinned);
        }
    }

    private void release(PrefixQuery.Pinned pinned) {
        if (pinned.blocks().length > 0) {
            report.accept(Event.released(pinned.pinId()));
        }
    }

    Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("prefix_queries_served", queriesServed.get());
        m.put("prefix_queries_refused", queriesRefused.get());
        m.put("prefix_blocks_sent", blocksSent.get());
        m.put("prefix_fetches", fetches.get());
        m.put("prefix_tokens_fetched", tokensFetched.get());
        m.put("prefix_hints_ignored", hintsIgnored.get());
        return m;
    }
}
