package io.tessera.engine.scheduler;

import java.util.Arrays;

/**
 * One sequence being generated: its tokens (prompt then output), how many of them have their keys
 * and values in the cache, and its block table. A request with {@code n} samples has n sequences,
 * forked from one once the prompt is computed.
 *
 * <p>Owned by the scheduler's thread.
 */
public final class Sequence {

    public enum Status {
        WAITING,
        /** Admitted, its blocks allocated, while a KV connector loads its prompt's KV from elsewhere. */
        WAITING_FOR_REMOTE_KV,
        RUNNING,
        FINISHED
    }

    private final long arrival;
    private final int sampleIndex;
    private final Object owner;
    private final int promptLength;
    private int[] tokens;
    private int numTokens;
    private int numComputed;
    private int[] blocks = new int[4];
    private int numBlocks;
    private long[] hashes = new long[4];
    private int numHashes;
    private int numRegistered;
    Status status = Status.WAITING;
    int cachedPromptTokens = -1;
    int preemptions;
    /** Its part in a prefill/decode exchange (set by the engine before it is queued), or null. */
    private io.tessera.engine.connector.KvTransfer kvTransfer;
    /** The connector was asked for this sequence's KV once: a preempted or failed one computes it here. */
    boolean remoteAsked;

    /** False when every token must go through the model (no cached prefix): a mean-pooled embedding. */
    boolean reusesPrefix = true;

    /**
     * Running places this sequence takes: its request's sample count until it forks them (they are
     * admitted together, so that forking never passes the running limit), then 1.
     */
    int width;

    /**
     * @param samples the request's sample count n: the places it reserves among the running
     *     sequences until {@link Scheduler#fork} makes the others
     */
    public Sequence(long arrival, int sampleIndex, Object owner, int[] prompt, int capacity, int samples) {
        if (samples < 1) {
            throw new IllegalArgumentException("a sequence stands for at least one sample, got " + samples);
        }
        this.width = samples;
        this.arrival = arrival;
        this.sampleIndex = sampleIndex;
        this.owner = owner;
        this.promptLength = prompt.length;
        this.tokens = Arrays.copyOf(prompt, Math.max(prompt.length + 1, capacity));
        this.numTokens = prompt.length;
    }

    /** A copy of {@code parent} sharing its state (the block table is copied; the caller shares the blocks). */
    Sequence(Sequence parent, int sampleIndex) {
        this.arrival = parent.arrival;
        this.sampleIndex = sampleIndex;
        this.owner = parent.owner;
        this.promptLength = parent.promptLength;
        this.tokens = parent.tokens.clone();
        this.numTokens = parent.numTokens;
        this.numComputed = parent.numComputed;
        this.blocks = parent.blocks.clone();
        this.numBlocks = parent.numBlocks;
        this.hashes = parent.hashes.clone();
        this.numHashes = parent.numHashes;
        this.numRegistered = parent.numRegistered;
        this.status = parent.status;
        this.cachedPromptTokens = parent.cachedPromptTokens;
        this.blockSizeForHashes = parent.blockSizeForHashes;
        this.width = 1;
    }

    public io.tessera.engine.connector.KvTransfer kvTransfer() {
        return kvTransfer;
    }

    public void kvTransfer(io.tessera.engine.connector.KvTransfer transfer) {
        this.kvTransfer = transfer;
    }

    /** Makes admission compute every token, taking no cached blocks for the prefix. Before it is added. */
    public void computeEveryToken() {
        reusesPrefix = false;
    }

    /** Order of arrival of the request (lower is older): scheduling and preemption priority. */
    public long arrival() {
        return arrival;
    }

    public int sampleIndex() {
        return sampleIndex;
    }

    /** The engine's object for the request this sequence belongs to. */
    public Object owner() {
        return owner;
    }

    public Status status() {
        return status;
    }

    public int promptLength() {
        return promptLength;
    }

    public int numTokens() {
        return numTokens;
    }

    public int outputLength() {
        return numTokens - promptLength;
    }

    public int numComputed() {
        return numComputed;
    }

    public int token(int i) {
        return tokens[i];
    }

    public int lastToken() {
        return tokens[numTokens - 1];
    }

    /** Prompt tokens found in the prefix cache when the sequence was first admitted. */
    public int cachedPromptTokens() {
        return Math.max(0, cachedPromptTokens);
    }

    public int preemptions() {
        return preemptions;
    }

    int[] tokensArray() {
        return tokens;
    }

    int[] tokens(int from, int to) {
        return Arrays.copyOfRange(tokens, from, to);
    }

    public void append(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[numTokens++] = token;
    }

    void setComputed(int n) {
        numComputed = n;
    }

    int numBlocks() {
        return numBlocks;
    }

    int block(int i) {
        return blocks[i];
    }

    void setBlock(int i, int block) {
        blocks[i] = block;
    }

    void addBlock(int block) {
        if (numBlocks == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[numBlocks++] = block;
    }

    /** Forgets the last block of the table (the caller releases it). */
    void dropLastBlock() {
        if (numBlocks == 0) {
            throw new IllegalStateException("no block to drop: " + this);
        }
        numBlocks--;
        numRegistered = Math.min(numRegistered, numBlocks);
    }

    int[] blocksArray() {
        return blocks;
    }

    /** The block table (a copy, as long as the blocks in use). */
    public int[] blockTable() {
        return Arrays.copyOf(blocks, numBlocks);
    }

    void clearBlocks() {
        numBlocks = 0;
        numRegistered = 0;
    }

    int numRegistered() {
        return numRegistered;
    }

    void setRegistered(int n) {
        numRegistered = n;
    }

    /** Chained hash of full block i (computed on demand from the tokens; they never change). */
    long blockHash(int i) {
        while (numHashes <= i) {
            long parent = numHashes == 0 ? SEED : hashes[numHashes - 1];
            if (numHashes == hashes.length) {
                hashes = Arrays.copyOf(hashes, hashes.length * 2);
            }
            hashes[numHashes] = chain(parent, tokens, numHashes * blockSizeForHashes, blockSizeForHashes);
            numHashes++;
        }
        return hashes[i];
    }

    long parentHash(int i) {
        return i == 0 ? SEED : blockHash(i - 1);
    }

    private int blockSizeForHashes;

    void setBlockSize(int blockSize) {
        this.blockSizeForHashes = blockSize;
    }

    static final long SEED = 0x7e55e7a5eedL;

    /** A 64-bit hash of a block's tokens chained with its predecessor's hash. */
    static long chain(long parent, int[] tokens, int from, int count) {
        long h = mix(parent ^ 0x9e3779b97f4a7c15L);
        for (int i = 0; i < count; i++) {
            h = mix(h ^ (tokens[from + i] & 0xffffffffL) * 0xbf58476d1ce4e5b9L) + i;
        }
        return mix(h ^ count);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "seq(" + owner + "#" + sampleIndex + ", " + numComputed + "/" + numTokens + " computed, " + numBlocks
                + " blocks, " + status + ")";
    }
}
