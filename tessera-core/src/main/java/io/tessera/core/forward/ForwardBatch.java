package io.tessera.core.forward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One step's input: a flattened, ragged batch. The tokens of several sequences are laid end to
 * end; each token has its position and its sequence, each sequence its block table into the KV
 * cache. A sequence contributes a prompt chunk (prefill) or a single token (decode). Logits are
 * computed only for the tokens listed in {@link #logitTokens()}, in that order; the final hidden
 * state (after the final norm, before the output head: what embeddings pool) only for those in
 * {@link #hiddenTokens()}.
 */
public final class ForwardBatch {

    /** Which tokens of a sequence's chunk need logits. */
    public enum Logits {
        NONE, LAST, ALL
    }

    private final int[] tokens;
    private final int[] positions;
    private final int[] sequenceOf;
    private final int[][] blockTables;
    private final int[] logitTokens;
    private final int[] hiddenTokens;

    private ForwardBatch(int[] tokens, int[] positions, int[] sequenceOf, int[][] blockTables, int[] logitTokens,
            int[] hiddenTokens) {
        this.tokens = tokens;
        this.positions = positions;
        this.sequenceOf = sequenceOf;
        this.blockTables = blockTables;
        this.logitTokens = logitTokens;
        this.hiddenTokens = hiddenTokens;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A batch of one sequence's chunk: the single-request path. */
    public static ForwardBatch single(int[] blockTable, int[] chunk, int startPosition, Logits logits) {
        return builder().add(blockTable, chunk, startPosition, logits).build();
    }

    public int size() {
        return tokens.length;
    }

    public int token(int i) {
        return tokens[i];
    }

    public int position(int i) {
        return positions[i];
    }

    public int sequence(int i) {
        return sequenceOf[i];
    }

    public int sequenceCount() {
        return blockTables.length;
    }

    public int[] blockTable(int sequence) {
        return blockTables[sequence];
    }

    /** Indices (into this batch) of the tokens whose logits are returned, in output order. */
    public int[] logitTokens() {
        return logitTokens.clone();
    }

    public int logitCount() {
        return logitTokens.length;
    }

    /** Indices (into this batch) of the tokens whose final hidden state is returned, in output order. */
    public int[] hiddenTokens() {
        return hiddenTokens.clone();
    }

    public int hiddenCount() {
        return hiddenTokens.length;
    }

    /** The KV slot holding the given position of the given sequence. */
    public int slot(int sequence, int position, int blockSize) {
        int[] table = blockTables[sequence];
        int block = position / blockSize;
        if (block >= table.length) {
            throw new IllegalArgumentException("position " + position + " of sequence " + sequence
                    + " lies past its " + table.length + " blocks of " + blockSize + " tokens");
        }
        return table[block] * blockSize + position % blockSize;
    }

    public static final class Builder {
        private final List<int[]> tables = new ArrayList<>();
        private int[] tokens = new int[16];
        private int[] positions = new int[16];
        private int[] sequenceOf = new int[16];
        private int size;
        private int[] logits = new int[4];
        private int logitCount;
        private int[] hidden = new int[0];
        private int hiddenCount;

        /**
         * Adds a chunk of one sequence: tokens fed at positions {@code startPosition ..}; the block
         * table must cover every position up to the chunk's last.
         */
        public Builder add(int[] blockTable, int[] chunk, int startPosition, Logits wanted) {
            return add(blockTable, chunk, startPosition, wanted, Logits.NONE);
        }

        /**
         * Adds a chunk whose tokens' final hidden states are wanted too ({@code hiddenWanted}
         * selects them as {@code wanted} selects logits).
         */
        public Builder add(int[] blockTable, int[] chunk, int startPosition, Logits wanted, Logits hiddenWanted) {
            if (chunk.length == 0) {
                throw new IllegalArgumentException("a sequence chunk needs at least one token");
            }
            if (startPosition < 0) {
                throw new IllegalArgumentException("negative start position " + startPosition);
            }
            int seq = tables.size();
            tables.add(blockTable.clone());
            ensure(size + chunk.length);
            for (int i = 0; i < chunk.length; i++) {
                tokens[size] = chunk[i];
                positions[size] = startPosition + i;
                sequenceOf[size] = seq;
                if (wanted == Logits.ALL || (wanted == Logits.LAST && i == chunk.length - 1)) {
                    if (logitCount == logits.length) {
                        logits = Arrays.copyOf(logits, logits.length * 2);
                    }
                    logits[logitCount++] = size;
                }
                if (hiddenWanted == Logits.ALL || (hiddenWanted == Logits.LAST && i == chunk.length - 1)) {
                    if (hiddenCount == hidden.length) {
                        hidden = Arrays.copyOf(hidden, Math.max(4, hidden.length * 2));
                    }
                    hidden[hiddenCount++] = size;
                }
                size++;
            }
            return this;
        }

        private void ensure(int capacity) {
            if (capacity > tokens.length) {
                int n = Math.max(capacity, tokens.length * 2);
                tokens = Arrays.copyOf(tokens, n);
                positions = Arrays.copyOf(positions, n);
                sequenceOf = Arrays.copyOf(sequenceOf, n);
            }
        }

        public ForwardBatch build() {
            if (size == 0) {
                throw new IllegalStateException("empty batch");
            }
            return new ForwardBatch(Arrays.copyOf(tokens, size), Arrays.copyOf(positions, size),
                    Arrays.copyOf(sequenceOf, size), tables.toArray(int[][]::new), Arrays.copyOf(logits, logitCount),
                    Arrays.copyOf(hidden, hiddenCount));
        }
    }
}
