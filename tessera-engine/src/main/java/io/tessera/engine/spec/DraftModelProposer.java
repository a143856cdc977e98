package io.tessera.engine.spec;

import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import io.tessera.engine.scheduler.Sequence;

/**
 * Proposals from a smaller model with the target's tokenizer: per sequence, the draft model
 * catches up on the tokens it has not seen (the prompt, then the tokens accepted since its last
 * proposal, in one chunk), then decodes greedily {@code k} tokens, feeding each back. Greedy keeps
 * the draft deterministic, so the engine's acceptance rule gives exactly the target's distribution.
 *
 * <p>The draft keeps its own paged KV cache with a block table per sequence. After a verify step
 * only the positions whose fed token the target kept stay valid: the first proposed tokens that
 * match the sequence's tokens; the rest is recomputed over. When the draft's cache has no room for
 * a sequence, it proposes fewer tokens or none; the target then decodes as without speculation.
 *
 * <p>Runs on the engine's thread, one sequence at a time (k forward passes of the draft per
 * sequence and step): it pays when the target's step costs many times the draft's, as with one
 * long sequence.
 */
public final class DraftModelProposer implements Drafter, AutoCloseable {

    private final Model model;
    private final DecoderForward forward;
    private final PagedKvCache cache;
    private final int blockSize;
    private final int vocab;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Map<Sequence, State> states = new HashMap<>();

    /** One sequence's share of the draft cache. */
    private static final class State {
        int[] blocks = new int[4];
        int numBlocks;
        /** Positions whose keys and values hold the sequence's own tokens. */
        int valid;
        /** Proposed tokens fed at positions valid.. during the last proposal. */
        int[] fed = new int[0];
    }

    /**
     * @param vocab tokens the draft may propose: ids below the target's sampleable vocabulary
     */
    public DraftModelProposer(Model model, Parallel parallel, KvCacheType type, int blockSize, int numBlocks,
            int vocab) {
        this.model = model;
        this.forward = new DecoderForward(model, parallel);
        this.cache = new PagedKvCache(model.config(), type, numBlocks, blockSize);
        this.blockSize = blockSize;
        this.vocab = Math.min(vocab, model.config().vocabSize());
        for (int b = 0; b < numBlocks; b++) {
            free.add(b);
        }
    }

    /**
     * Refuses a draft whose tokenizer differs from the target's: its token ids would mean other
     * text, and every proposal would be rejected or, worse, accepted by chance.
     *
     * @throws IllegalArgumentException naming the draft and the first difference
     */
    public static void requireSameTokenizer(Tokenizer target, Tokenizer draft, String draftName) {
        String why = null;
        if (target.vocabSize() != draft.vocabSize()) {
            why = "its vocabulary has " + draft.vocabSize() + " tokens, the model's " + target.vocabSize();
        } else if (target.bos() != draft.bos() || target.eos() != draft.eos()) {
            why = "its BOS/EOS ids are " + draft.bos() + "/" + draft.eos() + ", the model's " + target.bos() + "/"
                    + target.eos();
        } else {
            for (int id = 0; id < target.vocabSize() && why == null; id++) {
                if (!Arrays.equals(target.tokenBytes(id), draft.tokenBytes(id))) {
                    why = "token " + id + " is '" + draft.piece(id) + "' there and '" + target.piece(id) + "' here";
                }
            }
        }
        if (why != null) {
            throw new IllegalArgumentException("--speculative-model " + draftName
                    + " does not share the model's tokenizer: " + why);
        }
    }

    public Model model() {
        return model;
    }

    @Override
    public int[] propose(Sequence seq, int k) {
        int len = seq.numTokens();
        k = Math.min(k, model.config().contextLength() - len);
        if (k <= 0) {
            return new int[0];
        }
        State st = states.computeIfAbsent(seq, s -> new State());
        // the proposals the target kept are the sequence's tokens now: their keys and values stay
        for (int i = 0; i < st.fed.length && st.valid < len - 1 && seq.token(st.valid) == st.fed[i]; i++) {
            st.valid++;
        }
        st.fed = new int[0];
        st.valid = Math.min(st.valid, len - 1); // the last token is always fed, for its logits
        // positions valid .. len - 1 + (k - 1) are written: the catch-up chunk, then k - 1 proposals
        k = Math.min(k, room(st, len + k - 1) - len + 1);
        if (k <= 0) {
            return new int[0];
        }
        int[] table = Arrays.copyOf(st.blocks, st.numBlocks);
        int[] chunk = new int[len - st.valid];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = seq.token(st.valid + i);
        }
        float[] logits = forward.forward(ForwardBatch.single(table, chunk, st.valid, ForwardBatch.Logits.LAST), cache);
        st.valid = len;
        int[] out = new int[k];
        out[0] = argmax(logits);
        for (int i = 1; i < k; i++) {
            logits = forward.forward(ForwardBatch.single(table, new int[] {out[i - 1]}, len + i - 1,
                    ForwardBatch.Logits.LAST), cache);
            out[i] = argmax(logits);
        }
        st.fed = Arrays.copyOf(out, k - 1);
        return out;
    }

    /** Takes blocks until the sequence's table covers {@code tokens} positions or the pool is empty; the positions covered. */
    private int room(State st, int tokens) {
        int need = (tokens + blockSize - 1) / blockSize;
        while (st.numBlocks < need && !free.isEmpty()) {
            if (st.numBlocks == st.blocks.length) {
                st.blocks = Arrays.copyOf(st.blocks, st.blocks.length * 2);
            }
            st.blocks[st.numBlocks++] = free.poll();
        }
        return st.numBlocks * blockSize;
    }

    private int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void release(Sequence seq) {
        State st = states.remove(seq);
        if (st != null) {
            for (int i = 0; i < st.numBlocks; i++) {
                free.add(st.blocks[i]);
            }
        }
    }

    /** Blocks of the draft cache held by sequences (for tests). */
    public int usedBlocks() {
        return cache.numBlocks() - free.size();
    }

    @Override
    public void close() {
        cache.close();
    }
}
