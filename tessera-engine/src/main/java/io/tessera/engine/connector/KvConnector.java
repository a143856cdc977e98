package io.tessera.engine.connector;

import java.util.Map;
import java.util.function.Consumer;

/**
 * Where a request's KV blocks come from and go to besides this engine's own forward pass: the
 * scheduler half of a KV connector (the shape of vLLM's). The scheduler asks it how many of a new
 * request's tokens can be loaded from elsewhere, allocates fresh blocks for them and has it start
 * loading them (the request waits in {@code WAITING_FOR_REMOTE_KV} meanwhile); when a request
 * finishes it may keep the request's blocks pinned while they are sent elsewhere. The executor half
 * is {@link io.tessera.engine.executor.KvBlockIo}: a connector reads and writes block layers
 * through it, in the cache's own precision, from its own threads.
 *
 * <p>Reference counts: a load's blocks are held by the scheduler until the connector reports the
 * load finished (even when its request was aborted meanwhile), and a pin holds its blocks until the
 * connector reports it released. So no block is handed out again while a connector may still read
 * or write it.
 *
 * <p>The scheduler calls every method on the engine thread; the connector reports from any thread
 * through {@link #drainEvents} and wakes the engine with the runnable given to {@link #wakeup}.
 */
public interface KvConnector {

    /** No connector: nothing is loaded from or kept for elsewhere. */
    KvConnector NONE = new KvConnector() {
        @Override
        public int loadableTokens(KvTransfer transfer, int promptLength, int localTokens) {
            return 0;
        }

        @Override
        public void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken) {
            throw new IllegalStateException("no KV connector");
        }

        @Override
        public void cancelLoad(long loadId) {
        }

        @Override
        public boolean requestFinished(KvTransfer transfer, int[] blockTable, int computedTokens, long pinId) {
            return false;
        }

        @Override
        public void drainEvents(Consumer<Event> sink) {
        }

        @Override
        public void wakeup(Runnable wakeup) {
        }
    };

    /**
     * How many of a request's first tokens can be loaded from elsewhere: 0 for none, else a count
     * above {@code localTokens} (the tokens found in this engine's prefix cache, a whole number of
     * blocks) and below the prompt length (the last prompt token is always computed here, since its
     * logits give the first output token). Asked once per request, at its first admission.
     */
    int loadableTokens(KvTransfer transfer, int promptLength, int localTokens);

    /**
     * Starts loading tokens {@code [fromToken, toToken)} into their blocks of {@code blockTable}
     * (fresh blocks from index {@code fromToken / blockSize}; {@code fromToken} is a multiple of the
     * block size). Must not block; reports {@link Event.Kind#LOADED} or {@link Event.Kind#LOAD_FAILED}
     * with {@code loadId} once nothing more will be written into those blocks.
     */
    void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken);

    /**
     * {@link #startLoad(long, KvTransfer, int[], int, int)} with the prompt's tokens, for a connector
     * that finds blocks by their contents (a {@link KvTransfer.Role#PEER_PREFIX} fetch asks a peer for
     * the cached blocks of these tokens). Such a load may bring fewer tokens than asked: it reports
     * {@link Event#loaded(long, int)} with where the loaded tokens end.
     */
    default void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken,
            int[] promptTokens) {
        startLoad(loadId, transfer, blockTable, fromToken, toToken);
    }

    /** Gives a load up (its request was aborted); it must still be reported finished. */
    void cancelLoad(long loadId);

    /**
     * A request ended normally, with {@code computedTokens} tokens in {@code blockTable}'s blocks.
     * Returns true to keep the blocks pinned: the connector then reports {@link Event.Kind#RELEASED}
     * with {@code pinId} when they may be freed (sent, or given up after a timeout).
     */
    boolean requestFinished(KvTransfer transfer, int[] blockTable, int computedTokens, long pinId);

    /** Hands over the events reported since the last call, oldest first. */
    void drainEvents(Consumer<Event> sink);

    /**
     * Hands over the prefix queries other instances sent since the last call (peer prefix fetch): the
     * scheduler pins each one's cached blocks on its thread and answers it; the connector reports
     * {@link Event.Kind#RELEASED} with the pin id once the blocks are sent.
     */
    default void drainPrefixQueries(Consumer<PrefixQuery> sink) {
    }

    /** The engine's wake-up, to be run after an event is queued (the engine thread may be idle). */
    void wakeup(Runnable wakeup);

    /**
     * Why this connector will not take a request's part in a transfer (this instance does not
     * produce, or does not consume, or does not pull from that address), or null when it will. The
     * server refuses such a request with a 400 naming the reason.
     */
    default String refuses(KvTransfer transfer) {
        return "this server does not take part in KV transfer (see tessera serve --kv-role)";
    }

    /** What a producing request's response tells the router (where to pull its KV from); empty if nothing. */
    default Map<String, Object> producerParams(String transferId) {
        return Map.of();
    }

    /** Counters for /metrics; empty when the connector keeps none. */
    default Map<String, Long> counters() {
        return Map.of();
    }

    /**
     * Something a connector finished.
     *
     * @param id the load id or pin id it concerns
     * @param error why a load failed (LOAD_FAILED), else null
     * @param loadedTo where the loaded tokens end (LOADED), or -1 for every token the load asked for
     */
    record Event(Kind kind, long id, String error, int loadedTo) {
        public enum Kind {
            LOADED, LOAD_FAILED, RELEASED
        }

        public Event(Kind kind, long id, String error) {
            this(kind, id, error, -1);
        }

        public static Event loaded(long id) {
            return new Event(Kind.LOADED, id, null);
        }

        /**
         * A load that brought tokens up to {@code loadedTo} only (a peer had fewer blocks than asked,
         * possibly none): the sequence computes the rest; its blocks past them were never written.
         */
        public static Event loaded(long id, int loadedTo) {
            return new Event(Kind.LOADED, id, null, loadedTo);
        }

        public static Event failed(long id, String error) {
            return new Event(Kind.LOAD_FAILED, id, error);
        }

        public static Event released(long id) {
            return new Event(Kind.RELEASED, id, null);
        }
    }
}
