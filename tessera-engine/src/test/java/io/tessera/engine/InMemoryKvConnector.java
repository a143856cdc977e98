package io.tessera.engine;

import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.executor.KvBlockIo;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A KV connector between engines of one process, for tests: a producing request's blocks are copied
 * into a map (on a background thread, while they stay pinned) and a consuming request's blocks are
 * copied out of it into fresh blocks, on a background thread too. A load waits for its transfer up
 * to a timeout, and can be held back by a latch to test aborts during a load.
 */
final class InMemoryKvConnector implements KvConnector, AutoCloseable {

    /** Saved blocks of one transfer: per block, every layer's bytes one after the other. */
    record Saved(int tokens, byte[][] blocks) {
    }

    private final Map<String, Saved> store;
    private final KvBlockIo io;
    private final long loadTimeoutMillis;
    private final ExecutorService threads = Executors.newFixedThreadPool(2);
    private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
    private final Map<Long, Boolean> cancelled = new ConcurrentHashMap<>();
    private volatile Runnable wakeup = () -> { };
    /** Saves (and so pin releases) wait for this. */
    volatile CountDownLatch holdPins = new CountDownLatch(0);
    /** Loads wait for this before writing anything. */
    volatile CountDownLatch loadGate = new CountDownLatch(0);

    /** @param store the transfers, shared by the connectors of the engines that exchange KV */
    InMemoryKvConnector(KvBlockIo io, Map<String, Saved> store, long loadTimeoutMillis) {
        this.io = io;
        this.store = store;
        this.loadTimeoutMillis = loadTimeoutMillis;
    }

    @Override
    public int loadableTokens(KvTransfer transfer, int promptLength, int localTokens) {
        return promptLength - 1; // the producer computed the whole prompt; whether it exists shows when loading
    }

    @Override
    public void startLoad(long loadId, KvTransfer transfer, int[] blockTable, int fromToken, int toToken) {
        int blockSize = blockSizeOf();
        threads.execute(() -> {
            try {
                if (!loadGate.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the load gate stayed closed");
                }
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(loadTimeoutMillis);
                Saved saved;
                while ((saved = store.get(transfer.transferId())) == null) {
                    if (System.nanoTime() > deadline || cancelled.containsKey(loadId)) {
                        throw new IllegalStateException("transfer " + transfer.transferId() + " not found within "
                                + loadTimeoutMillis + " ms");
                    }
                    Thread.sleep(2);
                }
                if (saved.tokens() < toToken) {
                    throw new IllegalStateException("transfer holds " + saved.tokens() + " tokens, " + toToken
                            + " wanted");
                }
                int lb = io.blockLayerBytes();
                for (int b = fromToken / blockSize; b * blockSize < toToken; b++) {
                    if (cancelled.containsKey(loadId)) {
                        throw new IllegalStateException("cancelled");
                    }
                    for (int l = 0; l < io.layers(); l++) {
                        io.writeBlockLayer(l, blockTable[b], saved.blocks()[b], l * lb);
                    }
                }
                report(Event.loaded(loadId));
            } catch (Exception e) {
                report(Event.failed(loadId, String.valueOf(e.getMessage())));
            } finally {
                cancelled.remove(loadId);
            }
        });
    }

    private int blockSizeOf() {
        String layout = io.layout();
        return Integer.parseInt(layout.substring(layout.indexOf("block=") + 6));
    }

    @Override
    public void cancelLoad(long loadId) {
        cancelled.put(loadId, true);
    }

    @Override
    public boolean requestFinished(KvTransfer transfer, int[] blockTable, int computedTokens, long pinId) {
        CountDownLatch hold = holdPins;
        threads.execute(() -> {
            try {
                hold.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            int lb = io.blockLayerBytes();
            byte[][] blocks = new byte[blockTable.length][];
            for (int b = 0; b < blockTable.length; b++) {
                blocks[b] = new byte[io.layers() * lb];
                for (int l = 0; l < io.layers(); l++) {
                    io.readBlockLayer(l, blockTable[b], blocks[b], l * lb);
                }
            }
            store.put(transfer.transferId(), new Saved(computedTokens, blocks));
            report(Event.released(pinId));
        });
        return true;
    }

    private void report(Event e) {
        events.add(e);
        wakeup.run();
    }

    @Override
    public void drainEvents(Consumer<Event> sink) {
        for (Event e; (e = events.poll()) != null; ) {
            sink.accept(e);
        }
    }

    @Override
    public void wakeup(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
