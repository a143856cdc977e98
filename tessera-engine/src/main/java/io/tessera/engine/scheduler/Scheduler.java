package io.tessera.engine.scheduler;

import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import io.tessera.engine.connector.PrefixQuery;
import io.tessera.engine.kv.BlockManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Iteration-level scheduling (Orca) over a paged KV cache (vLLM). Each step gets one ragged batch
 * under a token budget and a sequence limit:
 *
 * <ol>
 *   <li>running sequences that decode (one token each), oldest request first;
 *   <li>running sequences whose prompt is partly computed, next chunk each;
 *   <li>waiting sequences, first come first served, their prompts chunked to the budget left, after
 *       reusing every cached block of their prefix.
 * </ol>
 *
 * When the blocks a running sequence needs are not free, the youngest running sequence is preempted:
 * its blocks are released (they stay in the prefix cache until evicted) and it goes back to waiting
 * with all its tokens, to be recomputed later. Its output so far is kept, so it continues exactly
 * where it stopped. No new sequence is admitted in a step that preempted.
 *
 * <p>With a {@link KvConnector}, a waiting sequence whose prompt KV was computed elsewhere is
 * admitted by allocating blocks for the tokens the connector can load and starting the load: it
 * waits for the remote KV ({@link Sequence.Status#WAITING_FOR_REMOTE_KV}, taking its running places
 * and holding its blocks), then runs from the first token not loaded. A failed load sends it back
 * to waiting, to be computed here. A finished sequence may leave its blocks pinned for the
 * connector to send. Loads and pins hold references to their blocks until the connector reports
 * them finished, so no block it may still touch is handed out again. Other instances' prefix queries
 * (peer prefix fetch) pin the cached blocks they find the same way while the connector sends them.
 *
 * <p>Not thread-safe: the engine drives it from one thread.
 */
public final class Scheduler {

    private static final Comparator<Sequence> PRIORITY =
            Comparator.comparingLong(Sequence::arrival).thenComparingInt(Sequence::sampleIndex);

    private final SchedulerConfig config;
    private final BlockManager blocks;
    private final int blockSize;
    private final TreeSet<Sequence> waiting = new TreeSet<>(PRIORITY);
    private final List<Sequence> running = new ArrayList<>();
    /** Running places taken: the widths of the running sequences (never above max-seqs). */
    private int runningWidth;
    private long preemptions;
    private long blockCopies;
    /** Proposes tokens for decoding sequences to verify (speculative decoding); null for none. */
    private DraftProposer proposer;
    private final KvConnector connector;
    /**
     * Pins never hold more than this share of the cache: finished prefills whose decode instance
     * never pulls must not starve the requests this instance serves until their timeout.
     */
    public static final double MAX_PINNED_FRACTION = 0.5;
    /** Loads in flight by id; a load whose sequence was aborted stays until reported, holding its blocks. */
    private final Map<Long, Load> loads = new HashMap<>();
    /** Running places taken by sequences waiting for remote KV. */
    private int loadingWidth;
    /** Blocks kept for the connector after their sequence finished, by pin id. */
    private final Map<Long, int[]> pins = new HashMap<>();
    private long nextTransferId;
    private long remoteLoadedTokens;
    private long remoteLoadFailures;
    private int pinnedBlocks;

    /** A load in flight: its sequence (null once aborted), the blocks it holds and the tokens it brings. */
    private static final class Load {
        Sequence seq;
        final int[] table;
        final int toToken;

        Load(Sequence seq, int[] table, int toToken) {
            this.seq = seq;
            this.table = table;
            this.toToken = toToken;
        }
    }

    public Scheduler(SchedulerConfig config, BlockManager blocks) {
        this(config, blocks, KvConnector.NONE);
    }

    public Scheduler(SchedulerConfig config, BlockManager blocks, KvConnector connector) {
        this.config = config;
        this.blocks = blocks;
        this.blockSize = blocks.blockSize();
        this.connector = connector;
    }

    public KvConnector connector() {
        return connector;
    }

    /** Sequences waiting for remote KV (aborted loads not yet reported included). */
    public int loadingCount() {
        return loads.size();
    }

    /** Blocks pinned for the connector after their sequence finished. */
    public int pinnedBlocks() {
        return pinnedBlocks;
    }

    /** Blocks held by loads in flight, their sequence aborted or not. */
    public int loadingBlocks() {
        int n = 0;
        for (Load l : loads.values()) {
            n += l.table.length;
        }
        return n;
    }

    /** Prompt tokens whose KV was loaded from elsewhere instead of computed. */
    public long remoteLoadedTokens() {
        return remoteLoadedTokens;
    }

    /** Loads that failed (their sequences were computed here instead). */
    public long remoteLoadFailures() {
        return remoteLoadFailures;
    }

    public SchedulerConfig config() {
        return config;
    }

    public BlockManager blocks() {
        return blocks;
    }

    public int waitingCount() {
        return waiting.size();
    }

    public int runningCount() {
        return running.size();
    }

    public long preemptions() {
        return preemptions;
    }

    /** Makes decoding sequences carry proposed tokens from {@code proposer} (null: plain decoding). */
    public void setDraftProposer(DraftProposer proposer) {
        this.proposer = proposer;
    }

    /** Copy-on-write block copies ordered so far. */
    public long blockCopies() {
        return blockCopies;
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    /** Blocks a sequence of this many tokens needs. */
    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Queues a new sequence. */
    public void add(Sequence seq) {
        if (seq.status != Sequence.Status.WAITING || seq.numBlocks() != 0) {
            throw new IllegalStateException("only a new sequence can be added: " + seq);
        }
        seq.setBlockSize(blockSize);
        waiting.add(seq);
    }

    /** Removes a sequence (finished or aborted) and releases its blocks at once. */
    public void finish(Sequence seq) {
        finish(seq, false);
    }

    /**
     * Removes a sequence (finished or aborted) and releases its blocks, except those the connector
     * keeps: with {@code offerToConnector} (a normal finish of a sequence that produces KV for
     * elsewhere) the connector may pin them until it has sent them. A sequence waiting for remote
     * KV leaves its blocks with its load until the connector reports the load over.
     */
    public void finish(Sequence seq, boolean offerToConnector) {
        if (seq.status == Sequence.Status.FINISHED) {
            return;
        }
        if (seq.status == Sequence.Status.WAITING_FOR_REMOTE_KV) {
            for (Map.Entry<Long, Load> e : loads.entrySet()) {
                if (e.getValue().seq == seq) {
                    e.getValue().seq = null;
                    loadingWidth -= seq.width;
                    connector.cancelLoad(e.getKey());
                    break;
                }
            }
            seq.clearBlocks();
            seq.status = Sequence.Status.FINISHED;
            return;
        }
        if (seq.status == Sequence.Status.RUNNING) {
            removeRunning(seq);
        } else {
            waiting.remove(seq);
        }
        KvTransfer t = seq.kvTransfer();
        if (offerToConnector && t != null && t.role() == KvTransfer.Role.PRODUCE && seq.numBlocks() > 0
                && pinnedBlocks + seq.numBlocks() <= MAX_PINNED_FRACTION * blocks.numBlocks()) {
            long pin = nextTransferId++;
            int[] table = seq.blockTable();
            if (connector.requestFinished(t, table, seq.numComputed(), pin)) {
                for (int b : table) {
                    blocks.share(b);
                }
                pins.put(pin, table);
                pinnedBlocks += table.length;
            }
        }
        blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
        seq.clearBlocks();
        seq.status = Sequence.Status.FINISHED;
    }

    /** Applies what the connector reported: finished loads join the running sequences, released pins free. */
    private void drainConnector() {
        connector.drainEvents(ev -> {
            switch (ev.kind()) {
                case RELEASED -> {
                    int[] table = pins.remove(ev.id());
                    if (table != null) {
                        pinnedBlocks -= table.length;
                        blocks.releaseAll(table, table.length);
                    }
                }
                case LOADED, LOAD_FAILED -> {
                    Load load = loads.remove(ev.id());
                    if (load == null) {
                        return;
                    }
                    Sequence seq = load.seq;
                    if (seq == null) {
                        blocks.releaseAll(load.table, load.table.length); // aborted while loading
                        return;
                    }
                    loadingWidth -= seq.width;
                    int loadedTo = ev.loadedTo() < 0 ? load.toToken : ev.loadedTo();
                    boolean ok = ev.kind() == KvConnector.Event.Kind.LOADED && loadedTo >= seq.numComputed()
                            && loadedTo <= load.toToken;
                    if (ok) {
                        loaded(seq, loadedTo);
                    } else {
                        remoteLoadFailures++;
                        blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
                        seq.clearBlocks();
                        seq.setComputed(0);
                        seq.status = Sequence.Status.WAITING;
                        waiting.add(seq);
                    }
                }
            }
        });
        connector.drainPrefixQueries(this::pinCachedPrefix);
    }

    /**
     * Answers another instance's prefix query: pins the cached blocks of its prefix from its first
     * wanted block on, in order, up to the first block neither the pool nor an offload tier holds
     * (a tier's block is copied back into a free block, as for a local hit). Running sequences are
     * not touched, and pins stay within {@link #MAX_PINNED_FRACTION} of the cache.
     */
    private void pinCachedPrefix(PrefixQuery q) {
        int[] tokens = q.tokens();
        int room = (int) (MAX_PINNED_FRACTION * blocks.numBlocks()) - pinnedBlocks;
        List<Integer> found = new ArrayList<>();
        long parent = Sequence.SEED;
        for (int i = 0; i < tokens.length / blockSize && found.size() < room; i++) {
            long hash = Sequence.chain(parent, tokens, i * blockSize, blockSize);
            if (i >= q.fromBlock()) {
                int b = blocks.lookup(hash, parent, tokens, i * blockSize);
                if (b < 0) {
                    break;
                }
                found.add(b);
            }
            parent = hash;
        }
        if (found.isEmpty()) {
            q.answer(new PrefixQuery.Pinned(-1, new int[0]));
            return;
        }
        int[] table = found.stream().mapToInt(Integer::intValue).toArray();
        long pin = nextTransferId++;
        pins.put(pin, table);
        pinnedBlocks += table.length;
        q.answer(new PrefixQuery.Pinned(pin, table));
    }

    /** A load finished: its tokens are in the cache, full blocks enter the prefix cache, the sequence runs. */
    private void loaded(Sequence seq, int toToken) {
        int from = seq.numComputed();
        remoteLoadedTokens += toToken - from;
        seq.setComputed(toToken);
        for (int b = from / blockSize; b < seq.numBlocks() && b * blockSize < toToken; b++) {
            blocks.setFilled(seq.block(b), Math.min(blockSize, toToken - b * blockSize));
        }
        registerFull(seq, toToken);
        seq.status = Sequence.Status.RUNNING;
        insertRunning(seq);
    }

    /**
     * Forks a running sequence into {@code count} sequences: it keeps sample index 0, the others
     * share all its blocks (reference counts); a shared block is copied when one of them writes to it.
     */
    public List<Sequence> fork(Sequence parent, int count) {
        if (parent.status != Sequence.Status.RUNNING) {
            throw new IllegalStateException("only a running sequence can fork: " + parent);
        }
        if (count > parent.width) {
            throw new IllegalStateException("a sequence admitted for " + parent.width + " samples cannot fork "
                    + count + ": " + parent);
        }
        // the children take the places their parent reserved at admission
        runningWidth -= parent.width - 1;
        parent.width = 1;
        List<Sequence> children = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            Sequence child = new Sequence(parent, parent.sampleIndex() + i);
            for (int b = 0; b < parent.numBlocks(); b++) {
                blocks.share(parent.block(b));
            }
            insertRunning(child);
            children.add(child);
        }
        return children;
    }

    public ScheduledStep schedule() {
        drainConnector();
        int budget = config.maxBatchedTokens();
        Map<Sequence, Integer> scheduled = new LinkedHashMap<>();
        List<int[]> copies = new ArrayList<>(); // {from, to}
        Map<Sequence, List<int[]>> copiesOf = new LinkedHashMap<>();
        Map<Sequence, int[]> drafts = new LinkedHashMap<>();
        List<Sequence> preempted = new ArrayList<>();

        for (int pass = 0; pass < 2; pass++) {
            boolean decodes = pass == 0;
            for (Sequence seq : new ArrayList<>(running)) {
                if (seq.status != Sequence.Status.RUNNING || scheduled.containsKey(seq)) {
                    continue;
                }
                int remaining = seq.numTokens() - seq.numComputed();
                if ((remaining == 1) != decodes) {
                    continue;
                }
                if (budget == 0 || scheduled.size() >= config.maxSeqs()) {
                    break;
                }
                int n = Math.min(remaining, budget);
                if (decodes && scheduleWithDraft(seq, budget, copiesOf, drafts)) {
                    int given = 1 + drafts.get(seq).length;
                    scheduled.put(seq, given);
                    budget -= given;
                    continue;
                }
                boolean placed = false;
                while (true) {
                    List<int[]> cow = new ArrayList<>();
                    if (allocate(seq, n, cow)) {
                        copiesOf.put(seq, cow);
                        placed = true;
                        break;
                    }
                    Sequence victim = running.getLast();
                    if (victim == seq) {
                        preempt(seq, preempted);
                        break;
                    }
                    Integer given = scheduled.remove(victim);
                    if (given != null) {
                        budget += given;
                    }
                    copiesOf.remove(victim);
                    drafts.remove(victim);
                    preempt(victim, preempted);
                }
                if (placed) {
                    scheduled.put(seq, n);
                    budget -= n;
                }
            }
        }

        if (preempted.isEmpty()) {
            int watermark = (int) Math.ceil(config.admitWatermark() * blocks.numBlocks());
            while (!waiting.isEmpty() && budget > 0 && runningWidth + loadingWidth < config.maxSeqs()) {
                Sequence seq = waiting.first();
                if (runningWidth + loadingWidth + seq.width > config.maxSeqs()) {
                    break; // first come first served: its samples wait for room together
                }
                int hits = reuseCachedPrefix(seq);
                int remote = remoteTokens(seq, hits);
                if (remote > 0) {
                    if (!startLoad(seq, hits, remote, watermark)) {
                        break;
                    }
                    continue;
                }
                int n = Math.min(seq.numTokens() - seq.numComputed(), budget);
                int needed = blocksFor(seq.numComputed() + n) - seq.numBlocks();
                boolean fits = running.isEmpty() ? needed <= blocks.freeBlocks()
                        : needed + watermark <= blocks.freeBlocks();
                List<int[]> cow = new ArrayList<>();
                if (!fits || !allocate(seq, n, cow)) {
                    blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
                    seq.clearBlocks();
                    seq.setComputed(0);
                    break;
                }
                waiting.pollFirst();
                if (seq.cachedPromptTokens < 0) {
                    seq.cachedPromptTokens = Math.min(hits, seq.promptLength());
                    blocks.countQuery(seq.promptLength(), seq.cachedPromptTokens);
                }
                seq.status = Sequence.Status.RUNNING;
                insertRunning(seq);
                copiesOf.put(seq, cow);
                scheduled.put(seq, n);
                budget -= n;
            }
        }

        List<ScheduledStep.Chunk> chunks = new ArrayList<>(scheduled.size());
        for (Map.Entry<Sequence, Integer> e : scheduled.entrySet()) {
            Sequence seq = e.getKey();
            int start = seq.numComputed();
            int len = e.getValue();
            int[] draft = drafts.get(seq);
            chunks.add(draft == null ? new ScheduledStep.Chunk(seq, start, len, start + len == seq.numTokens())
                    : new ScheduledStep.Chunk(seq, start, len, true, draft));
        }
        for (List<int[]> c : copiesOf.values()) {
            copies.addAll(c);
        }
        blockCopies += copies.size();
        int[] from = new int[copies.size()];
        int[] to = new int[copies.size()];
        for (int i = 0; i < copies.size(); i++) {
            from[i] = copies.get(i)[0];
            to[i] = copies.get(i)[1];
        }
        return new ScheduledStep(Collections.unmodifiableList(chunks), from, to,
                Collections.unmodifiableList(preempted));
    }

    /**
     * Records that a step ran: the scheduled tokens are now in the cache; full blocks enter the
     * prefix cache.
     */
    public void commit(ScheduledStep step) {
        for (ScheduledStep.Chunk c : step.chunks()) {
            Sequence seq = c.sequence();
            if (seq.status != Sequence.Status.RUNNING) {
                continue;
            }
            // a draft's positions count only once verified (acceptDraft)
            markComputed(seq, c.start(), c.start() + c.ownLength());
        }
        blocks.sample();
    }

    /**
     * Records the verification of a decoding chunk's draft: the first {@code accepted} proposed
     * tokens (now appended to the sequence, followed by the target's own next token) keep their
     * keys and values; the rejected positions are forgotten, so the sequence's computed length
     * shrinks back to them and the blocks that held only rejected positions are freed. Only
     * accepted tokens ever reach the prefix cache: blocks are registered up to the computed length.
     */
    public void acceptDraft(Sequence seq, int accepted) {
        if (seq.status != Sequence.Status.RUNNING) {
            return; // finished inside the draft: its blocks are already released
        }
        int start = seq.numComputed();
        if (accepted < 0 || start + accepted >= seq.numTokens()) {
            throw new IllegalStateException(accepted + " accepted tokens do not fit " + seq);
        }
        markComputed(seq, start, start + accepted);
        int keep = blocksFor(seq.numTokens());
        for (int b = seq.numBlocks() - 1; b >= keep; b--) {
            blocks.releaseRejected(seq.block(b));
            seq.dropLastBlock();
        }
    }

    /**
     * Tries to schedule a decoding sequence with a draft from the proposer, within {@code budget}
     * tokens; false when there is no draft or its blocks are not free with one block per running
     * sequence to spare (the sequence then decodes its one token as without speculation).
     */
    private boolean scheduleWithDraft(Sequence seq, int budget, Map<Sequence, List<int[]>> copiesOf,
            Map<Sequence, int[]> drafts) {
        if (proposer == null || budget < 2) {
            return false;
        }
        int[] draft = proposer.propose(seq, budget - 1);
        if (draft.length == 0) {
            return false;
        }
        if (draft.length > budget - 1) {
            throw new IllegalStateException("the proposer gave " + draft.length + " tokens for room of "
                    + (budget - 1));
        }
        // the draft's own blocks leave one free block per running sequence, for their next tokens
        int start = seq.numComputed();
        int extra = blocksFor(start + 1 + draft.length) - Math.max(seq.numBlocks(), blocksFor(start + 1));
        if (extra > 0 && blocks.freeBlocks() - extra < running.size()) {
            return false;
        }
        List<int[]> cow = new ArrayList<>();
        if (!allocate(seq, 1 + draft.length, cow)) {
            return false;
        }
        copiesOf.put(seq, cow);
        drafts.put(seq, draft);
        return true;
    }

    /** Tokens {@code [from, end)} of a sequence are in the cache; full blocks enter the prefix cache. */
    private void markComputed(Sequence seq, int from, int end) {
        seq.setComputed(end);
        for (int b = from / blockSize; b < seq.numBlocks() && b * blockSize < end; b++) {
            blocks.setFilled(seq.block(b), Math.min(blockSize, end - b * blockSize));
        }
        registerFull(seq, end);
    }

    /** Registers the sequence's blocks that are full of computed tokens in the prefix cache. */
    private void registerFull(Sequence seq, int computed) {
        if (blocks.prefixCaching()) {
            int full = computed / blockSize;
            for (int b = seq.numRegistered(); b < full; b++) {
                blocks.register(seq.block(b), seq.blockHash(b), seq.parentHash(b), seq.tokensArray(), b * blockSize);
            }
            seq.setRegistered(Math.max(seq.numRegistered(), full));
        }
    }

    /** Tokens the connector can load for a waiting sequence beyond its local hits; asked once per sequence. */
    private int remoteTokens(Sequence seq, int hits) {
        KvTransfer t = seq.kvTransfer();
        if (t == null || t.role() == KvTransfer.Role.PRODUCE || seq.remoteAsked) {
            return 0;
        }
        seq.remoteAsked = true;
        int n = connector.loadableTokens(t, seq.promptLength(), hits);
        if (n <= hits) {
            return 0;
        }
        if (n >= seq.promptLength()) {
            throw new IllegalStateException("a KV connector offered " + n + " tokens of a " + seq.promptLength()
                    + "-token prompt; the last prompt token must be computed here");
        }
        return n;
    }

    /**
     * Admits a waiting sequence by loading tokens {@code [hits, remote)} from elsewhere into fresh
     * blocks. False when the blocks are not free (the sequence stays first in line, asking no more).
     */
    private boolean startLoad(Sequence seq, int hits, int remote, int watermark) {
        int needed = blocksFor(remote) - seq.numBlocks();
        boolean fits = running.isEmpty() ? needed <= blocks.freeBlocks() : needed + watermark <= blocks.freeBlocks();
        if (!fits) {
            seq.remoteAsked = false; // ask again when there is room
            blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
            seq.clearBlocks();
            seq.setComputed(0);
            return false;
        }
        for (int i = 0; i < needed; i++) {
            seq.addBlock(blocks.allocate());
        }
        waiting.pollFirst();
        if (seq.cachedPromptTokens < 0) {
            seq.cachedPromptTokens = Math.min(hits, seq.promptLength());
            blocks.countQuery(seq.promptLength(), seq.cachedPromptTokens);
        }
        seq.status = Sequence.Status.WAITING_FOR_REMOTE_KV;
        loadingWidth += seq.width;
        long id = nextTransferId++;
        int[] table = seq.blockTable();
        loads.put(id, new Load(seq, table, remote));
        connector.startLoad(id, seq.kvTransfer(), table, hits, remote,
                Arrays.copyOf(seq.tokensArray(), seq.promptLength()));
        return true;
    }

    /** Takes cached blocks for the longest cached prefix of a waiting sequence; returns the tokens found. */
    private int reuseCachedPrefix(Sequence seq) {
        if (!blocks.prefixCaching() || seq.numBlocks() != 0 || !seq.reusesPrefix) {
            return seq.numComputed();
        }
        // The last token is always computed, so that its logits exist.
        int maxBlocks = (seq.numTokens() - 1) / blockSize;
        int hit = 0;
        while (hit < maxBlocks) {
            int b = blocks.lookup(seq.blockHash(hit), seq.parentHash(hit), seq.tokensArray(), hit * blockSize);
            if (b < 0) {
                break;
            }
            seq.addBlock(b);
            hit++;
        }
        seq.setComputed(hit * blockSize);
        seq.setRegistered(hit);
        return hit * blockSize;
    }

    /**
     * Makes room for tokens {@code [numComputed, numComputed + n)}: new blocks past the table's end,
     * and a private copy of any shared block in that range. All or nothing.
     */
    private boolean allocate(Sequence seq, int n, List<int[]> copies) {
        int start = seq.numComputed();
        int end = start + n;
        int needBlocks = blocksFor(end);
        int fresh = Math.max(0, needBlocks - seq.numBlocks());
        int shared = 0;
        for (int b = start / blockSize; b < Math.min(seq.numBlocks(), needBlocks); b++) {
            if (blocks.refCount(seq.block(b)) > 1) {
                shared++;
            }
        }
        if (fresh + shared > blocks.freeBlocks()) {
            return false;
        }
        for (int b = start / blockSize; b < Math.min(seq.numBlocks(), needBlocks); b++) {
            int old = seq.block(b);
            if (blocks.refCount(old) > 1) {
                int copy = blocks.allocate();
                copies.add(new int[] {old, copy});
                blocks.setFilled(copy, Math.max(0, Math.min(blockSize, start - b * blockSize)));
                blocks.release(old);
                seq.setBlock(b, copy);
            }
        }
        for (int i = 0; i < fresh; i++) {
            seq.addBlock(blocks.allocate());
        }
        return true;
    }

    private void preempt(Sequence seq, List<Sequence> preempted) {
        removeRunning(seq);
        blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
        seq.clearBlocks();
        seq.setComputed(0);
        seq.status = Sequence.Status.WAITING;
        seq.preemptions++;
        waiting.add(seq);
        preempted.add(seq);
        preemptions++;
    }

    private void insertRunning(Sequence seq) {
        int i = Collections.binarySearch(running, seq, PRIORITY);
        running.add(i < 0 ? -i - 1 : i, seq);
        runningWidth += seq.width;
    }

    private void removeRunning(Sequence seq) {
        if (running.remove(seq)) {
            runningWidth -= seq.width;
        }
    }
}
