package io.tessera.cluster;

import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Node;
import io.tessera.cluster.transport.Wire;
import io.tessera.core.model.ModelConfig;

/**
 * The largest frames a cluster can legitimately exchange, derived from the model and the KV cache
 * of its plan, so that a connection declaring more is cut off instead of buffered.
 *
 * <p>A step holds at most as many tokens as the KV cache has slots ({@code blocks × block size}):
 * every token computed is stored in its sequence's blocks. It holds at most one sequence per block,
 * because each sequence in a step writes into a block it owns alone (copy on write), and a
 * sequence's block table is no longer than its context or the cache allows.
 */
public final class FrameLimits {

    /** Java arrays end below {@code Integer.MAX_VALUE}: no frame can be larger than this anyway. */
    private static final long LARGEST_ARRAY = Integer.MAX_VALUE - 64;

    private FrameLimits() {
    }

    /** Tokens a step can hold. */
    static long stepTokens(int numBlocks, int blockSize) {
        return (long) numBlocks * blockSize;
    }

    /**
     * The largest frame a worker receives: a STEP, or activations / collective chunks / expert rows
     * of a whole step.
     */
    public static int worker(ModelConfig model, int numBlocks, int blockSize, Wire wire) {
        long tokens = stepTokens(numBlocks, blockSize);
        long sequences = Math.min(tokens, numBlocks);
        long tablePerSequence = Math.min(numBlocks, (model.contextLength() + blockSize - 1L) / blockSize);
        long step = 4L * 4 + 8L * numBlocks + sequences * (13 + 4 * tablePerSequence) + 4 * tokens;
        long activations = tokens * model.dim() * wire.bytesPerValue();
        // an expert-parallel dispatch: every (token, expert) pair of a step, with its expert id
        long experts = 4 + tokens * model.moe().expertsUsed() * (4L + (long) model.dim() * wire.bytesPerValue());
        // a KV_WRITE: one block layer of every KV head, keys and values, at most 4 bytes a value (+ header)
        long kvWrite = 8 + 2L * blockSize * model.kvDim() * 4;
        return clamp(Frame.HEADER_BYTES + Math.max(Math.max(step, activations), Math.max(experts, kvWrite)));
    }

    /** The largest frame a coordinator receives: the logits of every token of a step. */
    public static int coordinator(ModelConfig model, int numBlocks, int blockSize) {
        return clamp(Frame.HEADER_BYTES + 8 + stepTokens(numBlocks, blockSize) * model.vocabSize() * 4L);
    }

    private static int clamp(long bytes) {
        return (int) Math.min(LARGEST_ARRAY, Math.max(Node.CONTROL_FRAME_BYTES, bytes));
    }
}
