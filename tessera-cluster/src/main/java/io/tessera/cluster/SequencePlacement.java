package io.tessera.cluster;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which expert-parallel rank computes the attention of each sequence, and so holds its KV cache
 * (data-parallel attention). A sequence is known by the first block of its block table: a prompt
 * that starts at position 0 is placed on the rank with the fewest tokens in the step so far, and
 * every later chunk of it goes to the same rank. Sequences that share a cached prefix share its
 * first block, so they land on the rank that holds that prefix; a copy-on-write block copy places
 * the copy with its source. Every rank's cache spans all block ids (allocated lazily, so only the
 * blocks a rank writes become resident).
 */
final class SequencePlacement {

    private final int ranks;
    /** Rank of the sequence whose table starts with this block id; -1 when none is known. */
    private final int[] rankOfFirstBlock;

    SequencePlacement(int ranks, int numBlocks) {
        this.ranks = ranks;
        this.rankOfFirstBlock = new int[numBlocks];
        Arrays.fill(rankOfFirstBlock, -1);
    }

    /** Forgets every placement: the workers' caches were lost (re-planned). */
    synchronized void clear() {
        Arrays.fill(rankOfFirstBlock, -1);
    }

    /**
     * The chunks of one micro-batch per rank, in their batch order.
     *
     * @param copyFrom block copies made before the step (sources), paired with {@code copyTo}
     */
    synchronized List<List<BatchCodec.Chunk>> split(List<BatchCodec.Chunk> chunks, int[] copyFrom, int[] copyTo) {
        for (int i = 0; i < copyFrom.length; i++) {
            rankOfFirstBlock[copyTo[i]] = rankOfFirstBlock[copyFrom[i]];
        }
        List<List<BatchCodec.Chunk>> out = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            out.add(new ArrayList<>());
        }
        int[] rankOf = new int[chunks.size()];
        long[] tokens = new long[ranks];
        for (int i = 0; i < chunks.size(); i++) {
            BatchCodec.Chunk c = chunks.get(i);
            int first = c.blockTable()[0];
            rankOf[i] = c.start() == 0 ? -1 : rankOfFirstBlock[first];
            if (c.start() > 0 && rankOf[i] < 0) {
                throw new IllegalStateException("a sequence continues at position " + c.start() + " from block "
                        + first + ", which no expert-parallel rank computed");
            }
            if (rankOf[i] >= 0) {
                tokens[rankOf[i]] += c.tokens().length;
            }
        }
        for (int i = 0; i < chunks.size(); i++) {
            if (rankOf[i] < 0) {
                int best = 0;
                for (int r = 1; r < ranks; r++) {
                    if (tokens[r] < tokens[best]) {
                        best = r;
                    }
                }
                rankOf[i] = best;
                rankOfFirstBlock[chunks.get(i).blockTable()[0]] = best;
                tokens[best] += chunks.get(i).tokens().length;
            }
            out.get(rankOf[i]).add(chunks.get(i));
        }
        return out;
    }
}
