package io.tessera.engine.scheduler;

import java.util.List;

/**
 * What one step computes: for each scheduled sequence a chunk of its tokens, and the block copies
 * (copy-on-write) to make before the forward pass writes anything.
 *
 * @param chunks sequences and token ranges, in batch order
 * @param copyFrom source blocks of the copies
 * @param copyTo destination blocks, parallel to copyFrom
 * @param preempted sequences sent back to waiting in this step (their blocks freed)
 */
public record ScheduledStep(List<Chunk> chunks, int[] copyFrom, int[] copyTo, List<Sequence> preempted) {

    /**
     * Tokens {@code [start, start + length)} of a sequence; {@code sample} when the chunk reaches
     * the sequence's last token, so that its logits give the next token.
     */
    public record Chunk(Sequence sequence, int start, int length, boolean sample) {
    }

    public boolean isEmpty() {
        return chunks.isEmpty();
    }

    public int tokenCount() {
        int n = 0;
        for (Chunk c : chunks) {
            n += c.length();
        }
        return n;
    }
}
