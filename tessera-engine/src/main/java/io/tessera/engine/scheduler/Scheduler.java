package io.tessera.engine.scheduler;

import io.tessera.engine.kv.BlockManager;
import java.util.ArrayList;
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

    public Scheduler(SchedulerConfig config, BlockManager blocks) {
        this.config = config;
        this.blocks = blocks;
        this.blockSize = blocks.blockSize();
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
        if (seq.status == Sequence.Status.FINISHED) {
            return;
        }
        if (seq.status == Sequence.Status.RUNNING) {
            removeRunning(seq);
        } else {
            waiting.remove(seq);
        }
        blocks.releaseAll(seq.blocksArray(), seq.numBlocks());
        seq.clearBlocks();
        seq.status = Sequence.Status.FINISHED;
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
        int budget = config.maxBatchedTokens();
        Map<Sequence, Integer> scheduled = new LinkedHashMap<>();
        List<int[]> copies = new ArrayList<>(); // {from, to}
        Map<Sequence, List<int[]>> copiesOf = new LinkedHashMap<>();
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
            while (!waiting.isEmpty() && budget > 0 && runningWidth < config.maxSeqs()) {
                Sequence seq = waiting.first();
                if (runningWidth + seq.width > config.maxSeqs()) {
                    break; // first come first served: its samples wait for room together
                }
                int hits = reuseCachedPrefix(seq);
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
            chunks.add(new ScheduledStep.Chunk(seq, start, len, start + len == seq.numTokens()));
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
            int end = c.start() + c.length();
            seq.setComputed(end);
            for (int b = c.start() / blockSize; b < seq.numBlocks() && b * blockSize < end; b++) {
                blocks.setFilled(seq.block(b), Math.min(blockSize, end - b * blockSize));
            }
            if (blocks.prefixCaching()) {
                int full = end / blockSize;
                for (int b = seq.numRegistered(); b < full; b++) {
                    blocks.register(seq.block(b), seq.blockHash(b), seq.parentHash(b), seq.tokensArray(), b * blockSize);
                }
                seq.setRegistered(Math.max(seq.numRegistered(), full));
            }
        }
        blocks.sample();
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
