package io.tessera.engine;

import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.sampling.LogProbs;
import io.tessera.core.sampling.LogitsProcessor;
import io.tessera.core.sampling.Sampler;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.core.sampling.TokenCounts;
import io.tessera.core.structured.ConstraintCursor;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvLayerSink;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.connector.KvTransferStats;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.StepInput;
import io.tessera.engine.executor.StepResult;
import io.tessera.engine.kv.BlockManager;
import io.tessera.engine.kv.KvStats;
import io.tessera.engine.scheduler.ScheduledStep;
import io.tessera.engine.scheduler.Scheduler;
import io.tessera.engine.scheduler.Sequence;
import io.tessera.engine.spec.Drafter;
import io.tessera.engine.spec.NgramProposer;
import io.tessera.engine.spec.SpeculativeConfig;
import io.tessera.engine.spec.SpeculativeStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The engine's synchronous core: requests in, one {@link #step()} at a time, deltas out through
 * each request's sink. It owns the scheduler and the block manager and drives the executor; it
 * knows nothing of threads ({@link Engine} runs it on its own thread) and nothing of how the model
 * is split (that is the executor's business).
 *
 * <p>Not thread-safe, except {@link #validate}.
 */
public final class EngineCore {

    private final Executor executor;
    private final EngineConfig config;
    private final Detokenizer detokenizer;
    private final ModelConfig model;
    private final BlockManager blocks;
    private final Scheduler scheduler;
    private final GenerationLimits limits;
    private final Map<String, RequestState> requests = new LinkedHashMap<>();
    private final Map<String, EmbeddingJob> embeddings = new LinkedHashMap<>();
    private long nextArrival;
    private long steps;
    private long promptTokensComputed;
    private long generatedTokens;
    private long finished;
    private long aborted;
    private long executeNanos;
    private long batchedTokens;
    private long logitRows;
    private long cacheEpoch;
    private final Drafter proposer;
    private long verifySteps;
    private long proposedTokens;
    private long acceptedTokens;
    private long verifyEmitted;
    private final long[] proposedAt;
    private final long[] acceptedAt;

    /**
     * @param detokenizer turns tokens into text; null to stream token ids only (then stop strings
     *     are rejected)
     */
    public EngineCore(Executor executor, EngineConfig config, Detokenizer detokenizer) {
        this(executor, config, detokenizer, null, KvConnector.NONE);
    }

    public EngineCore(Executor executor, EngineConfig config, Detokenizer detokenizer, Drafter draft) {
        this(executor, config, detokenizer, draft, KvConnector.NONE);
    }

    public EngineCore(Executor executor, EngineConfig config, Detokenizer detokenizer, KvConnector connector) {
        this(executor, config, detokenizer, null, connector);
    }

    /**
     * @param draft where proposed tokens come from when speculation is on (a draft model); null for
     *     prompt lookup with the configured n-gram lengths
     * @param connector loads prompts' KV from elsewhere and keeps finished requests' KV for
     *     elsewhere (prefill/decode disaggregation); {@link KvConnector#NONE} for neither
     */
    public EngineCore(Executor executor, EngineConfig config, Detokenizer detokenizer, Drafter draft,
            KvConnector connector) {
        this.executor = executor;
        this.config = config;
        this.detokenizer = detokenizer;
        this.model = executor.modelConfig();
        this.blocks = new BlockManager(executor.numBlocks(), executor.blockSize(), config.prefixCaching());
        if (config.prefixCaching()) {
            blocks.offloadTo(executor.kvOffload());
        }
        this.scheduler = new Scheduler(config.scheduler(), blocks, connector);
        this.cacheEpoch = executor.cacheEpoch();
        this.limits = new GenerationLimits(model.contextLength(), config.scheduler().maxSeqs());
        SpeculativeConfig spec = config.speculative();
        this.proposer = !spec.enabled() ? null
                : draft != null ? draft : new NgramProposer(spec.promptLookupMin(), spec.promptLookupMax());
        this.proposedAt = new long[spec.numSpeculativeTokens()];
        this.acceptedAt = new long[spec.numSpeculativeTokens()];
        if (proposer != null) {
            scheduler.setDraftProposer(this::propose);
        }
    }

    public EngineConfig config() {
        return config;
    }

    public Executor executor() {
        return executor;
    }

    public BlockManager blocks() {
        return blocks;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** The context and sample limits requests are checked against. */
    public GenerationLimits limits() {
        return limits;
    }

    /** Tokens a request may generate per sample at most: its max tokens, or up to the context length. */
    public int effectiveMaxTokens(GenerateRequest r) {
        return limits.maxTokens(r.promptLength(), r.params().maxTokens());
    }

    /**
     * Checks that a request can be served; thread-safe.
     *
     * @throws RequestRejectedException naming the cause
     */
    public void validate(GenerateRequest r) {
        int len = r.promptLength();
        for (int t : r.promptUnsafe()) {
            if (t < 0 || t >= model.vocabSize()) {
                throw new RequestRejectedException("prompt token " + t + " is outside the vocabulary (0.."
                        + (model.vocabSize() - 1) + ")");
            }
        }
        int max = effectiveMaxTokens(r);
        // The last sampled token is never fed back, so prompt + max - 1 tokens are cached at most.
        int need = scheduler.blocksFor(len + max - 1);
        if (need > blocks.numBlocks()) {
            throw new RequestRejectedException("prompt (" + len + " tokens) + max tokens (" + max + ") needs " + need
                    + " KV blocks of " + blocks.blockSize() + " tokens; the whole cache has " + blocks.numBlocks());
        }
        limits.checkSamples(r.params().n());
        if (!r.params().stop().isEmpty() && detokenizer == null) {
            throw new RequestRejectedException("stop strings need a tokenizer; this engine has none");
        }
    }

    /**
     * Checks that an embedding request can be served; thread-safe.
     *
     * @throws RequestRejectedException naming the cause
     */
    public void validate(EmbeddingRequest r) {
        if (!executor.returnsHiddenStates()) {
            throw new RequestRejectedException("embeddings need the final hidden states, which this executor ("
                    + executor.describe() + ") does not return");
        }
        int[] tokens = r.tokensUnsafe();
        for (int t : tokens) {
            if (t < 0 || t >= model.vocabSize()) {
                throw new RequestRejectedException("input token " + t + " is outside the vocabulary (0.."
                        + (model.vocabSize() - 1) + ")");
            }
        }
        limits.checkInput(tokens.length);
        int need = scheduler.blocksFor(tokens.length);
        if (need > blocks.numBlocks()) {
            throw new RequestRejectedException("the input (" + tokens.length + " tokens) needs " + need
                    + " KV blocks of " + blocks.blockSize() + " tokens; the whole cache has " + blocks.numBlocks());
        }
    }

    /**
     * Adds an embedding request; {@code result} is completed on the stepping thread with the pooled
     * vector, or exceptionally when the request fails or is aborted.
     *
     * @throws RequestRejectedException when it cannot be served or its id is in use
     */
    public void addEmbedding(EmbeddingRequest request, java.util.concurrent.CompletableFuture<Embedding> result) {
        if (request.id() == null) {
            request = request.withId("emb-" + nextArrival);
        }
        validate(request);
        if (requests.containsKey(request.id()) || embeddings.containsKey(request.id())) {
            throw new RequestRejectedException("request id '" + request.id() + "' is already in use");
        }
        EmbeddingJob job = new EmbeddingJob(request, result, model.dim());
        int[] tokens = request.tokensUnsafe();
        job.seq = new Sequence(nextArrival++, 0, job, tokens, tokens.length + 1, 1);
        if (request.pooling() != Pooling.LAST) {
            job.seq.computeEveryToken(); // a cached prefix has no hidden states to pool
        }
        embeddings.put(request.id(), job);
        scheduler.add(job.seq);
    }

    /** Ends an embedding request: its sequence's blocks are freed; the vector, or the error, goes out. */
    private void finishEmbedding(EmbeddingJob job, String error) {
        scheduler.finish(job.seq);
        embeddings.remove(job.request.id());
        if (error == null) {
            finished++;
            job.result.complete(new Embedding(job.request.id(), job.vector(), job.request.tokensUnsafe().length));
        } else {
            aborted++;
            job.result.completeExceptionally(new IllegalStateException(error));
        }
    }

    /**
     * Adds a request; its deltas go to {@code sink}, called on the stepping thread.
     *
     * @throws RequestRejectedException when it cannot be served or its id is in use
     */
    public void add(GenerateRequest request, Consumer<RequestOutput> sink) {
        if (request.id() == null) {
            request = request.withId("req-" + nextArrival);
        }
        validate(request);
        if (requests.containsKey(request.id())) {
            throw new RequestRejectedException("request id '" + request.id() + "' is already in use");
        }
        long arrival = nextArrival++;
        RequestState st = new RequestState(request, sink, arrival, effectiveMaxTokens(request));
        int capacity = request.promptLength() + Math.min(st.maxTokens, 256) + 1;
        Sequence seq = new Sequence(arrival, 0, st, request.promptUnsafe(), capacity, request.params().n());
        seq.kvTransfer(request.kvTransfer());
        st.samples[0].seq = seq;
        requests.put(request.id(), st);
        scheduler.add(seq);
    }

    /** Aborts a request: frees all its blocks now; its samples end with ABORTED. */
    public boolean abort(String requestId) {
        EmbeddingJob job = embeddings.get(requestId);
        if (job != null) {
            finishEmbedding(job, "aborted");
            return true;
        }
        RequestState st = requests.get(requestId);
        if (st == null) {
            return false;
        }
        for (SampleState s : st.samples) {
            if (!s.done) {
                finishSample(st, s, FinishReason.ABORTED, "", new int[0], List.of(), null);
            }
        }
        return true;
    }

    /** Ends every request that holds KV blocks with an error (requests still waiting go on). */
    private void failAll(String message) {
        for (EmbeddingJob job : new ArrayList<>(embeddings.values())) {
            if (job.seq.numComputed() > 0 || job.seq.blockTable().length > 0) {
                finishEmbedding(job, message);
            }
        }
        for (RequestState st : new ArrayList<>(requests.values())) {
            boolean holdsKv = false;
            for (SampleState s : st.samples) {
                holdsKv |= s.seq != null && (s.seq.numComputed() > 0 || s.seq.blockTable().length > 0);
            }
            if (!holdsKv) {
                continue;
            }
            for (SampleState s : st.samples) {
                if (!s.done) {
                    finishSample(st, s, FinishReason.ERROR, "", new int[0], List.of(), message);
                }
            }
        }
    }

    /** Aborts every request (shutdown). */
    public void abortAll() {
        for (String id : new ArrayList<>(requests.keySet())) {
            abort(id);
        }
        for (String id : new ArrayList<>(embeddings.keySet())) {
            abort(id);
        }
    }

    public boolean hasWork() {
        return scheduler.hasWork();
    }

    public int activeRequests() {
        return requests.size() + embeddings.size();
    }

    /**
     * Runs one step: schedule, execute, sample, emit. Returns false when there was nothing to run.
     */
    public boolean step() {
        long epoch = executor.cacheEpoch();
        if (epoch != cacheEpoch) {
            cacheEpoch = epoch;
            failAll("the executor lost its KV cache (a worker was replaced); the request was interrupted");
            blocks.forgetCachedContents();
        }
        ScheduledStep step = scheduler.schedule();
        if (step.isEmpty()) {
            return false;
        }
        ForwardBatch.Builder b = ForwardBatch.builder();
        List<KvConnector.ProducedChunk> produced = new ArrayList<>();
        for (ScheduledStep.Chunk c : step.chunks()) {
            Sequence seq = c.sequence();
            KvTransfer transfer = seq.kvTransfer();
            if (transfer != null && transfer.role() == KvTransfer.Role.PRODUCE && c.start() < seq.promptLength()) {
                produced.add(new KvConnector.ProducedChunk(transfer, seq.blockTable(), c.start() + c.length(),
                        seq.promptLength()));
            }
            int[] chunk = new int[c.length()];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = c.token(i);
            }
            if (seq.owner() instanceof EmbeddingJob job) {
                b.add(seq.blockTable(), chunk, c.start(), ForwardBatch.Logits.NONE, job.hiddenWanted(c));
                continue;
            }
            ForwardBatch.Logits wanted = c.draftLength() > 0 ? ForwardBatch.Logits.ALL
                    : c.sample() ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE;
            b.add(seq.blockTable(), chunk, c.start(), wanted);
        }
        StepResult result;
        long t0 = System.nanoTime();
        try {
            KvLayerSink sink = produced.isEmpty() ? null : scheduler.connector().layerSink(produced);
            result = executor.execute(new StepInput(b.build(), step.copyFrom(), step.copyTo(), sink));
        } catch (RuntimeException e) {
            failStep(step, e);
            return true;
        } finally {
            executeNanos += System.nanoTime() - t0;
        }
        steps++;
        batchedTokens += step.tokenCount();
        logitRows += result.rows();
        scheduler.commit(step);
        int row = 0;
        int hiddenRow = 0;
        for (ScheduledStep.Chunk c : step.chunks()) {
            if (c.sequence().owner() instanceof EmbeddingJob job) {
                promptTokensComputed += c.length();
                hiddenRow = job.absorb(c, result, hiddenRow);
                if (c.sample()) {
                    finishEmbedding(job, null);
                }
                continue;
            }
            if (!c.sample()) {
                promptTokensComputed += c.length();
                continue;
            }
            promptTokensComputed += c.ownLength() - 1;
            Sequence seq = c.sequence();
            RequestState st = (RequestState) seq.owner();
            if (c.draftLength() > 0) {
                verifyDraft(st, st.samples[seq.sampleIndex()], c, result, row);
                row += c.draftLength() + 1;
                continue;
            }
            int off = result.rowOffset(row++);
            List<Sequence> targets = new ArrayList<>();
            targets.add(seq);
            if (!st.forked && st.samples.length > 1) {
                st.forked = true;
                List<Sequence> children = scheduler.fork(seq, st.samples.length);
                for (Sequence child : children) {
                    st.samples[child.sampleIndex()].seq = child;
                    targets.add(child);
                }
            }
            for (Sequence target : targets) {
                onToken(st, st.samples[target.sampleIndex()], result.logits(), off, result.vocabSize());
            }
        }
        return true;
    }

    /**
     * The draft's tokens are verified in order against the target's logits at their positions (row
     * i holds the logits after the sequence's last token and the first i proposed tokens): each
     * emitted token is the target's own pick ({@link Sampler#verify}), so the run stops at the
     * first disagreement, whose row gives the replacement, or after all were accepted, whose last
     * row gives one token more. Stop conditions apply to every emitted token as in plain decoding.
     */
    private void verifyDraft(RequestState st, SampleState s, ScheduledStep.Chunk c, StepResult result, int firstRow) {
        int draft = c.draftLength();
        int accepted = 0;
        int emitted = 0;
        for (int i = 0; i <= draft && !s.done; i++) {
            int proposal = i < draft ? c.draftToken(i) : -1;
            int token = onToken(st, s, result.logits(), result.rowOffset(firstRow + i), result.vocabSize(), proposal);
            if (token < 0) {
                break;
            }
            emitted++;
            if (token != proposal) {
                break;
            }
            accepted++;
            acceptedAt[i]++;
        }
        verifySteps++;
        proposedTokens += draft;
        acceptedTokens += accepted;
        verifyEmitted += emitted;
        for (int i = 0; i < draft; i++) {
            proposedAt[i]++;
        }
        if (!s.done) {
            scheduler.acceptDraft(s.seq, accepted);
        }
    }

    /**
     * Proposed tokens for a decoding sequence: none for an embedding or a request whose samples
     * have not forked yet, and never more than its output still has room for minus the one token the target always
     * adds, so a verify step never passes max tokens or the context.
     */
    private int[] propose(Sequence seq, int max) {
        if (!(seq.owner() instanceof RequestState st)) {
            return new int[0]; // an embedding's prompt: nothing is generated
        }
        SampleState s = st.samples[seq.sampleIndex()];
        if (s.done || (st.samples.length > 1 && !st.forked)) {
            return new int[0];
        }
        int room = st.maxTokens - seq.outputLength() - 1;
        return proposer.propose(seq, Math.min(Math.min(max, room), config.speculative().numSpeculativeTokens()));
    }

    private void onToken(RequestState st, SampleState s, float[] logits, int off, int vocab) {
        onToken(st, s, logits, off, vocab, -1);
    }

    /**
     * Picks the next token from one logits row (verifying {@code proposal} when it is not -1),
     * appends and emits it; returns it, or -1 when no token could be picked (the sample ended).
     */
    private int onToken(RequestState st, SampleState s, float[] logits, int off, int vocab, int proposal) {
        GenerateParams p = st.request.params();
        Sequence seq = s.seq;
        if (s.cursor != null && !s.cursor.hasChoice()) {
            finishSample(st, s, FinishReason.ERROR, "", new int[0], List.of(), "no token of the vocabulary continues "
                    + p.constraint().description() + " here");
            return -1;
        }
        // the embedding's padding rows beyond the tokenizer's vocabulary are never sampled
        int sampleable = detokenizer == null ? vocab : Math.min(vocab, detokenizer.vocabularySize());
        int token = proposal >= 0 && proposal < sampleable
                ? s.sampler.verify(logits, off, sampleable, s.counts, s.processor, proposal)
                : s.sampler.sample(logits, off, sampleable, s.counts, s.processor);
        generatedTokens++;
        seq.append(token);
        if (s.counts != null) {
            s.counts.addOutput(token);
        }
        if (st.firstTokenNanos == 0) {
            st.firstTokenNanos = System.nanoTime();
        }
        FinishReason reason = null;
        boolean emit = true;
        if (!p.ignoreEos() && config.isEos(token)) {
            reason = FinishReason.EOS;
            emit = false;
        } else if (p.isStopToken(token)) {
            reason = FinishReason.STOP_TOKEN;
            emit = false;
        } else if (s.cursor != null) {
            s.cursor.advance(token);
            if (s.cursor.complete()) {
                reason = FinishReason.CONSTRAINT_COMPLETE;
            }
        }
        String text = "";
        if (emit && s.detok != null) {
            text = s.detok.push(token);
            if (s.stop != null) {
                text = s.stop.push(text);
                if (s.stop.matched() != null) {
                    reason = FinishReason.STOP_STRING;
                }
            }
        }
        if (reason == null && seq.outputLength() >= st.maxTokens) {
            reason = FinishReason.LENGTH;
        }
        int[] ids = emit ? new int[] {token} : new int[0];
        List<LogProbs> lp = emit && p.logprobs() >= 0
                ? List.of(LogProbs.compute(logits, off, sampleable, token, p.logprobs())) : List.of();
        if (reason == null) {
            st.sink.accept(new RequestOutput(st.request.id(), s.index, text, ids, lp, null, null, null));
        } else {
            finishSample(st, s, reason, text, ids, lp, null);
        }
        return token;
    }

    private void finishSample(RequestState st, SampleState s, FinishReason reason, String text, int[] ids,
            List<LogProbs> lp, String error) {
        if (reason != FinishReason.STOP_STRING && s.detok != null) {
            String tail = s.detok.flush();
            text = text + (s.stop != null ? s.stop.push(tail) + s.stop.flush() : tail);
        }
        s.done = true;
        if (s.seq != null) {
            // a normal end of the first sample may leave the prompt's KV pinned for a decode instance
            boolean normal = reason != FinishReason.ABORTED && reason != FinishReason.ERROR;
            scheduler.finish(s.seq, normal && s.index == 0);
            if (proposer != null) {
                proposer.release(s.seq);
            }
        }
        st.doneCount++;
        Usage usage = null;
        if (st.doneCount == st.samples.length) {
            requests.remove(st.request.id());
            int completion = 0;
            for (SampleState x : st.samples) {
                completion += x.seq == null ? 0 : x.seq.outputLength();
            }
            Sequence first = st.samples[0].seq;
            usage = new Usage(st.request.promptLength(), completion, first.cachedPromptTokens());
            if (reason == FinishReason.ABORTED) {
                aborted++;
            } else {
                finished++;
            }
        }
        st.sink.accept(new RequestOutput(st.request.id(), s.index, text, ids, lp, reason, usage, error));
    }

    private void failStep(ScheduledStep step, RuntimeException e) {
        Set<RequestState> hit = new LinkedHashSet<>();
        String msg = "model step failed: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        for (ScheduledStep.Chunk c : step.chunks()) {
            if (c.sequence().owner() instanceof EmbeddingJob job) {
                finishEmbedding(job, msg);
            } else {
                hit.add((RequestState) c.sequence().owner());
            }
        }
        for (RequestState st : hit) {
            for (SampleState s : st.samples) {
                if (!s.done) {
                    finishSample(st, s, FinishReason.ERROR, "", new int[0], List.of(), msg);
                }
            }
        }
    }

    public SpeculativeStats speculativeStats() {
        return new SpeculativeStats(verifySteps, proposedTokens, acceptedTokens, verifyEmitted, proposedAt, acceptedAt);
    }

    public KvTransferStats transferStats() {
        return new KvTransferStats(scheduler.remoteLoadedTokens(), scheduler.remoteLoadFailures(),
                scheduler.loadingCount(), scheduler.loadingBlocks(), scheduler.pinnedBlocks(),
                scheduler.connector().counters());
    }

    public KvStats kvStats() {
        return blocks.stats();
    }

    public EngineStats stats() {
        return new EngineStats(steps, scheduler.runningCount(), scheduler.waitingCount(), promptTokensComputed,
                generatedTokens, scheduler.preemptions(), finished, aborted, executeNanos, batchedTokens, logitRows,
                blocks.stats());
    }

    private final class RequestState {
        final GenerateRequest request;
        final Consumer<RequestOutput> sink;
        final long arrival;
        final int maxTokens;
        final SampleState[] samples;
        boolean forked;
        int doneCount;
        long firstTokenNanos;

        RequestState(GenerateRequest request, Consumer<RequestOutput> sink, long arrival, int maxTokens) {
            this.request = request;
            this.sink = sink;
            this.arrival = arrival;
            this.maxTokens = maxTokens;
            GenerateParams p = request.params();
            this.samples = new SampleState[p.n()];
            int last = request.promptUnsafe()[request.promptLength() - 1];
            StopStrings stops = p.stop().isEmpty() ? null : new StopStrings(p.stop());
            for (int i = 0; i < samples.length; i++) {
                ConstraintCursor cursor = p.constraint() == null ? null : p.constraint().start(endTokens(p));
                samples[i] = new SampleState(i, sampler(p.sampling(), i), counts(p.sampling(), request),
                        detokenizer == null ? null : detokenizer.open(last),
                        stops == null ? null : new StopMatcher(stops), processor(p, cursor), cursor);
            }
        }

        @Override
        public String toString() {
            return request.id();
        }
    }

    /**
     * Sample i of a seeded request draws from its own stream, seeded from (seed, i); sample 0 uses
     * the seed itself, as a single-request run with that seed does.
     */
    private static Sampler sampler(SamplingParams p, int index) {
        if (index == 0 || p.seed() == null) {
            return new Sampler(p);
        }
        long z = p.seed() + index * 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return new Sampler(p.withSeed(z ^ (z >>> 31)));
    }

    /** The tokens that end a sample: a constraint allows them exactly where its text is complete. */
    private int[] endTokens(GenerateParams p) {
        int[] stops = p.stopTokenIds();
        int[] eos = p.ignoreEos() ? new int[0] : config.eosTokenIds();
        int[] all = java.util.Arrays.copyOf(eos, eos.length + stops.length);
        System.arraycopy(stops, 0, all, eos.length, stops.length);
        return all;
    }

    /** The logit bias, then the constraint's mask (so a bias never revives a refused token). */
    private static LogitsProcessor processor(GenerateParams p, ConstraintCursor cursor) {
        LogitsProcessor bias = p.logitBias();
        if (bias == null) {
            return cursor;
        }
        if (cursor == null) {
            return bias;
        }
        return (logits, n) -> {
            bias.process(logits, n);
            cursor.process(logits, n);
        };
    }

    private static TokenCounts counts(SamplingParams p, GenerateRequest r) {
        if (!p.hasPenalties()) {
            return null;
        }
        TokenCounts c = new TokenCounts();
        c.addPrompt(r.promptUnsafe());
        return c;
    }

    private static final class SampleState {
        final int index;
        final Sampler sampler;
        final TokenCounts counts;
        final Detokenizer.Stream detok;
        final StopMatcher stop;
        final LogitsProcessor processor;
        final ConstraintCursor cursor;
        Sequence seq;
        boolean done;

        SampleState(int index, Sampler sampler, TokenCounts counts, Detokenizer.Stream detok, StopMatcher stop,
                LogitsProcessor processor, ConstraintCursor cursor) {
            this.index = index;
            this.sampler = sampler;
            this.counts = counts;
            this.detok = detok;
            this.stop = stop;
            this.processor = processor;
            this.cursor = cursor;
        }
    }
}
