package io.tessera.engine;

import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.kv.KvStats;
import io.tessera.engine.spec.Drafter;
import io.tessera.engine.spec.SpeculativeStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The serving engine: many clients submit requests from any thread and read their outputs as
 * streams, while one engine thread runs {@link EngineCore} step after step (continuous batching:
 * requests join and leave the running batch at every step). Cancelling a stream aborts its request
 * and frees its KV blocks at the next step.
 */
public final class Engine implements AutoCloseable {

    private final EngineCore core;
    private final KvConnector connector;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    private final Map<String, RequestStream> live = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread thread;
    private volatile boolean closed;
    private volatile EngineStats stats;
    private volatile SpeculativeStats speculative;
    private final Drafter draft;
    private volatile io.tessera.engine.connector.KvTransferStats transferStats;
    private volatile Throwable crash;

    public Engine(Executor executor, EngineConfig config, Detokenizer detokenizer) {
        this(executor, config, detokenizer, null, KvConnector.NONE);
    }

    /** An engine whose speculation takes proposals from {@code draft} (null: prompt lookup). */
    public Engine(Executor executor, EngineConfig config, Detokenizer detokenizer, Drafter draft) {
        this(executor, config, detokenizer, draft, KvConnector.NONE);
    }

    /** An engine that loads and keeps KV through {@code connector} (prefill/decode disaggregation). */
    public Engine(Executor executor, EngineConfig config, Detokenizer detokenizer, KvConnector connector) {
        this(executor, config, detokenizer, null, connector);
    }

    /**
     * An engine whose speculation takes proposals from {@code draft} (null: prompt lookup), and that
     * loads and keeps KV through {@code connector} for prefill/decode disaggregation
     * ({@link KvConnector#NONE}: none); the engine closes the draft on {@link #close()} when it is
     * {@link AutoCloseable}.
     */
    public Engine(Executor executor, EngineConfig config, Detokenizer detokenizer, Drafter draft,
            KvConnector connector) {
        this.core = new EngineCore(executor, config, detokenizer, draft, connector);
        this.draft = draft;
        this.connector = connector;
        // an event of the connector (a load done, a pin released) must reach an idle engine thread
        connector.wakeup(() -> inbox.add(() -> { }));
        this.stats = core.stats();
        this.speculative = core.speculativeStats();
        this.transferStats = core.transferStats();
        this.thread = Thread.ofPlatform().name("tessera-engine").daemon().unstarted(this::loop);
        thread.start();
    }

    /**
     * Submits a request; its deltas arrive on the returned stream.
     *
     * @throws RequestRejectedException when it can never be served (too long, bad parameters, id in use)
     * @throws IllegalStateException when the engine is closed
     */
    public RequestStream submit(GenerateRequest request) {
        if (closed) {
            throw new IllegalStateException("the engine is shut down");
        }
        GenerateRequest r = request.id() != null ? request : request.withId("req-" + ids.incrementAndGet());
        core.validate(r);
        RequestStream stream = new RequestStream(r.id(), r.params().n(), () -> abort(r.id()));
        if (live.putIfAbsent(r.id(), stream) != null) {
            throw new RequestRejectedException("request id '" + r.id() + "' is already in use");
        }
        inbox.add(() -> {
            try {
                core.add(r, out -> {
                    if (out.isLast()) {
                        live.remove(r.id());
                    }
                    stream.deliver(out);
                });
            } catch (RuntimeException e) {
                live.remove(r.id());
                stream.fail(e);
            }
        });
        if (closed) {
            // raced with close(): make sure the stream ends
            inbox.add(this::drainClosed);
        }
        return stream;
    }

    /**
     * Submits an embedding request: its input runs through the model with the other requests'
     * prompts; the future gets the pooled vector, or fails with the reason (aborted, step failed,
     * engine shut down). {@link #abort} with its id aborts it.
     *
     * @throws RequestRejectedException when it can never be served (too long, not in the vocabulary,
     *     an executor without hidden states)
     * @throws IllegalStateException when the engine is closed
     */
    public CompletableFuture<Embedding> embed(EmbeddingRequest request) {
        if (closed) {
            throw new IllegalStateException("the engine is shut down");
        }
        EmbeddingRequest r = request.id() != null ? request : request.withId("emb-" + ids.incrementAndGet());
        core.validate(r);
        CompletableFuture<Embedding> result = new CompletableFuture<>();
        inbox.add(() -> {
            try {
                core.addEmbedding(r, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        if (closed) {
            inbox.add(this::drainClosed);
        }
        return result;
    }

    /** Values in a hidden state: the size of the vectors {@link #embed} returns. */
    public int hiddenSize() {
        return core.executor().modelConfig().dim();
    }

    /** Whether the executor returns hidden states, so that {@link #embed} can serve. */
    public boolean supportsEmbeddings() {
        return core.executor().returnsHiddenStates();
    }

    /** Aborts a request by id (no effect once it has finished). */
    public void abort(String requestId) {
        inbox.add(() -> core.abort(requestId));
    }

    /** The configuration the engine runs with (its limits). */
    public EngineConfig config() {
        return core.config();
    }

    /** Counters as of the last step (thread-safe). */
    public EngineStats stats() {
        return stats;
    }

    /** Speculative decoding counters as of the last step (thread-safe). */
    public SpeculativeStats speculativeStats() {
        return speculative;
    }

    /** KV transfer counters as of the last step (thread-safe). */
    public io.tessera.engine.connector.KvTransferStats transferStats() {
        return transferStats;
    }

    /** The KV connector this engine loads and keeps KV through ({@link KvConnector#NONE} when none). */
    public KvConnector kvConnector() {
        return connector;
    }

    public KvStats kvStats() {
        return stats.kv();
    }

    /** The context and sample limits every request is checked against on submission. */
    public GenerationLimits limits() {
        return core.limits();
    }

    /** Requests submitted and not yet finished. */
    public int liveRequests() {
        return live.size();
    }

    private void loop() {
        try {
            while (!closed) {
                Runnable cmd = core.hasWork() ? inbox.poll() : inbox.take();
                while (cmd != null) {
                    cmd.run();
                    cmd = inbox.poll();
                }
                if (closed) {
                    break;
                }
                core.step();
                stats = core.stats();
                speculative = core.speculativeStats();
                transferStats = core.transferStats();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            crash = t;
        } finally {
            drainClosed();
        }
    }

    private void drainClosed() {
        List<Runnable> pending = new ArrayList<>();
        inbox.drainTo(pending);
        for (Runnable r : pending) {
            try {
                r.run();
            } catch (RuntimeException ignored) {
                // the request is aborted below
            }
        }
        core.abortAll();
        stats = core.stats();
        for (RequestStream s : live.values()) {
            s.fail(new IllegalStateException("the engine shut down"
                    + (crash != null ? ": " + crash : "")));
        }
        live.clear();
    }

    /** Null while the executor is healthy, else why it is not (read from any thread). */
    public String executorHealth() {
        return core.executor().health();
    }

    /**
     * Tokens routed to each expert of each layer ([layer][expert]), or null for a model without
     * experts (read from any thread; see {@link Executor#expertLoad()}).
     */
    public long[][] expertLoad() {
        return core.executor().expertLoad();
    }

    /** The engine thread's fatal error if it died, else null. */
    public Throwable crash() {
        return crash;
    }

    /** Aborts every request and stops the engine thread (the executor stays open; its owner closes it). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        inbox.add(() -> { });
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (draft instanceof AutoCloseable c && !thread.isAlive()) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the draft model failed", e);
            }
        }
    }

    /**
     * Audits the block pool on the engine thread, between steps: the block manager's books balance,
     * and with no request live every block is free except those held for KV transfers. Throws
     * {@link IllegalStateException} naming what is off. The tests of every module that drives an
     * engine end with it, so that no path leaks a block.
     */
    public void checkBlocks() throws InterruptedException {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        inbox.add(() -> {
            try {
                core.blocks().checkConsistency();
                // blocks pinned for a KV transfer or held by an aborted load are accounted for by the scheduler
                int held = core.scheduler().pinnedBlocks() + core.scheduler().loadingBlocks();
                if (core.activeRequests() == 0 && core.blocks().usedBlocks() != held) {
                    throw new IllegalStateException(core.blocks().usedBlocks() + " blocks still in use with no request ("
                            + held + " held for KV transfers)");
                }
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        try {
            done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw (RuntimeException) e.getCause();
        }
    }
}
