package io.tessera.planner.cost;

/**
 * What a step's cost depends on, accumulated sequence by sequence: the tokens of a flattened ragged
 * batch, split into prefill chunks and decodes. Mutable and reusable ({@link #clear()}) so the
 * simulator allocates nothing per step.
 */
public final class Batch {
    /** New tokens in the step (prefill chunk tokens + one per decode). */
    public long tokens;
    public int decodes;
    /** Sum over decodes of the context each attends to (including the new token). */
    public long decodeContext;
    public long prefillTokens;
    public int prefillChunks;
    /** Sum over chunks of query-key pairs under the causal mask: c * (p + (c + 1) / 2). */
    public double prefillPairs;
    /** Sum over chunks of cached tokens read (p + c). */
    public long prefillContext;
    /** Sequences that sample a token this step (decodes and chunks that finish their prompt). */
    public int logits;

    public Batch clear() {
        tokens = 0;
        decodes = 0;
        decodeContext = 0;
        prefillTokens = 0;
        prefillChunks = 0;
        prefillPairs = 0;
        prefillContext = 0;
        logits = 0;
        return this;
    }

    /** Adds one decode whose sequence will hold {@code context} tokens after this step. */
    public Batch addDecode(long context) {
        tokens++;
        decodes++;
        decodeContext += context;
        logits++;
        return this;
    }

    /** Adds a prefill chunk of {@code chunk} tokens after {@code cached} already in the cache. */
    public Batch addPrefill(long cached, long chunk, boolean lastChunk) {
        tokens += chunk;
        prefillTokens += chunk;
        prefillChunks++;
        prefillPairs += chunk * (cached + (chunk + 1) / 2.0);
        prefillContext += cached + chunk;
        if (lastChunk) {
            logits++;
        }
        return this;
    }

    public boolean isEmpty() {
        return tokens == 0;
    }

    public static Batch decodes(int n, long context) {
        Batch b = new Batch();
        for (int i = 0; i < n; i++) {
            b.addDecode(context);
        }
        return b;
    }

    public static Batch prefill(int n, long promptLen) {
        Batch b = new Batch();
        for (int i = 0; i < n; i++) {
            b.addPrefill(0, promptLen, true);
        }
        return b;
    }
}
