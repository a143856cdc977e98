package io.tessera.engine;

import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.StepInput;
import io.tessera.engine.executor.StepResult;
import java.util.Arrays;

/**
 * A stand-in model over a paged cache of tokens, for tests of the engine's KV bookkeeping: each
 * step stores every fed token in its slot (through its sequence's block table, as a KV cache stores
 * keys, before any logits are computed) and computes a logits row from the history read back from
 * those slots, positions 0..p. A wrong block table, a block freed while still in use, or a position
 * counted as computed that holds another token changes its output, as it would a real model's.
 */
final class PagedTokenModel implements Executor {

    /** Logits of the next token after {@code history[0..length)}. */
    interface Rule {
        void logits(int[] history, int length, float[] out, int offset);
    }

    private final ModelConfig config;
    private final int blockSize;
    private final int numBlocks;
    private final int[] slots;
    private final Rule rule;
    int steps;

    PagedTokenModel(int vocab, int blockSize, int numBlocks, Rule rule) {
        this.config = new ModelConfig("llama", 64, 128, 1, 4, 4, 16, vocab, 512, 10000f, RopeStyle.NEOX, 1e-5f);
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.slots = new int[numBlocks * blockSize];
        Arrays.fill(slots, -1);
        this.rule = rule;
    }

    /** Greedy copy with a period: the next token repeats the one {@code period} back, except after every
     * {@code every}-th position, where it is that token plus one (so a lookup's proposal is sometimes wrong). */
    static Rule copy(int vocab, int period, int every) {
        return (h, n, out, off) -> {
            int next = n >= period ? h[n - period] : (h[n - 1] * 7 + 3) % vocab;
            if (n % every == 0) {
                next = (next + 1) % vocab;
            }
            Arrays.fill(out, off, off + vocab, 0f);
            out[off + next] = 10f;
            out[off + (next + 1) % vocab] = 4f; // a runner-up, for logprobs
        };
    }

    /** The greedy continuation of a prompt under a rule, computed directly. */
    static int[] greedy(Rule rule, int vocab, int[] prompt, int max) {
        int[] h = Arrays.copyOf(prompt, prompt.length + max);
        float[] row = new float[vocab];
        for (int n = prompt.length; n < h.length; n++) {
            rule.logits(h, n, row, 0);
            h[n] = TestModelsEngine.argmax(row, 0, vocab);
        }
        return Arrays.copyOfRange(h, prompt.length, h.length);
    }

    @Override
    public ModelConfig modelConfig() {
        return config;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public long blockBytes() {
        return 4L * blockSize;
    }

    @Override
    public StepResult execute(StepInput input) {
        for (int i = 0; i < input.copyFrom().length; i++) {
            System.arraycopy(slots, input.copyFrom()[i] * blockSize, slots, input.copyTo()[i] * blockSize, blockSize);
        }
        ForwardBatch b = input.batch();
        for (int i = 0; i < b.size(); i++) {
            slots[b.slot(b.sequence(i), b.position(i), blockSize)] = b.token(i);
        }
        int vocab = config.vocabSize();
        int[] rows = b.logitTokens();
        float[] logits = new float[rows.length * vocab];
        for (int r = 0; r < rows.length; r++) {
            int i = rows[r];
            int seq = b.sequence(i);
            int length = b.position(i) + 1;
            int[] history = new int[length];
            for (int p = 0; p < length; p++) {
                history[p] = slots[b.slot(seq, p, blockSize)];
            }
            rule.logits(history, length, logits, r * vocab);
        }
        steps++;
        return new StepResult(logits, rows.length, vocab);
    }

    @Override
    public String describe() {
        return "paged token model";
    }

    @Override
    public void close() {
    }
}
