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
     * the sequence's last token, so that its logits give the next token. A decoding chunk may carry
     * a {@code draft}: proposed tokens fed after the sequence's last token (the chunk's last
     * {@code draft.length} tokens, not part of the sequence yet), each with its logits, so that
     * the target model verifies them in this step.
     */
    public record Chunk(Sequence sequence, int start, int length, boolean sample, int[] draft) {

        private static final int[] NO_DRAFT = new int[0];

        public Chunk {
            if (draft.length > 0 && (!sample || draft.length >= length)) {
                throw new IllegalArgumentException("a draft of " + draft.length + " tokens needs a sampled chunk"
                        + " longer than it, got " + length + " tokens");
            }
        }

        public Chunk(Sequence sequence, int start, int length, boolean sample) {
            this(sequence, start, length, sample, NO_DRAFT);
        }

        /** The chunk's i-th token: the sequence's own, then the draft's. */
        public int token(int i) {
            int own = length - draft.length;
            return i < own ? sequence.token(start + i) : draft[i - own];
        }

        /** Tokens of the sequence itself in this chunk (the length without the draft). */
        public int ownLength() {
            return length - draft.length;
        }

        @Override
        public int[] draft() {
            return draft.clone();
        }

        public int draftLength() {
            return draft.length;
        }

        public int draftToken(int i) {
            return draft[i];
        }
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
