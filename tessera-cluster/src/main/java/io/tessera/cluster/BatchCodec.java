package io.tessera.cluster;

import io.tessera.core.forward.ForwardBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A step on the wire (the payload of a STEP frame), little-endian:
 *
 * <pre>
 *   u32 micro-batch index, u32 micro-batches in the step
 *   u32 block copies, then pairs (u32 src, u32 dst)        (only in micro-batch 0)
 *   u32 sequences, then per sequence:
 *     u32 start position, u8 logits (0 none, 1 last, 2 all), u32 chunk length, u32 × length tokens,
 *     u32 block-table length, u32 × length block ids
 * </pre>
 */
public final class BatchCodec {

    /** One sequence's part of a batch. */
    public record Chunk(int[] blockTable, int[] tokens, int start, ForwardBatch.Logits logits) {
    }

    /**
     * A decoded STEP payload; {@code batch} is null when it holds no sequence (an expert-parallel
     * rank none of whose sequences is in this micro-batch still takes part in its exchanges).
     */
    public record Step(int microBatch, int microBatches, int[] copyFrom, int[] copyTo, ForwardBatch batch) {
    }

    private BatchCodec() {
    }

    /** The batch's sequences, in order. */
    public static List<Chunk> chunks(ForwardBatch batch) {
        boolean[] wanted = new boolean[batch.size()];
        for (int t : batch.logitTokens()) {
            wanted[t] = true;
        }
        List<Chunk> out = new ArrayList<>();
        int t = 0;
        for (int s = 0; s < batch.sequenceCount(); s++) {
            int begin = t;
            while (t < batch.size() && batch.sequence(t) == s) {
                t++;
            }
            int[] tokens = new int[t - begin];
            int marked = 0;
            for (int i = begin; i < t; i++) {
                tokens[i - begin] = batch.token(i);
                marked += wanted[i] ? 1 : 0;
            }
            ForwardBatch.Logits mode = marked == 0 ? ForwardBatch.Logits.NONE
                    : marked == tokens.length && tokens.length > 1 ? ForwardBatch.Logits.ALL
                    : ForwardBatch.Logits.LAST;
            if (mode == ForwardBatch.Logits.LAST && (marked != 1 || !wanted[t - 1])) {
                throw new IllegalArgumentException("sequence " + s + " asks logits for tokens other than all or the last");
            }
            out.add(new Chunk(batch.blockTable(s), tokens, batch.position(begin), mode));
        }
        return out;
    }

    public static ForwardBatch build(List<Chunk> chunks) {
        ForwardBatch.Builder b = ForwardBatch.builder();
        for (Chunk c : chunks) {
            b.add(c.blockTable(), c.tokens(), c.start(), c.logits());
        }
        return b.build();
    }

    /**
     * Splits the batch's sequences into at most {@code parts} contiguous groups of about equal token
     * counts. A token's result does not depend on its batch mates, so running the groups one after
     * another computes the same as the whole batch.
     */
    public static List<List<Chunk>> split(List<Chunk> chunks, int parts) {
        int total = 0;
        for (Chunk c : chunks) {
            total += c.tokens().length;
        }
        parts = Math.max(1, Math.min(parts, chunks.size()));
        List<List<Chunk>> out = new ArrayList<>();
        List<Chunk> cur = new ArrayList<>();
        int acc = 0;
        int left = chunks.size();
        for (Chunk c : chunks) {
            cur.add(c);
            acc += c.tokens().length;
            left--;
            int groupsLeft = parts - out.size() - 1;
            if (groupsLeft > 0 && (acc >= (long) total * (out.size() + 1) / parts || left == groupsLeft)) {
                out.add(cur);
                cur = new ArrayList<>();
            }
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }

    public static byte[] encode(int microBatch, int microBatches, int[] copyFrom, int[] copyTo, List<Chunk> chunks) {
        int ints = 3 + 2 * copyFrom.length + 1;
        for (Chunk c : chunks) {
            ints += 4 + c.tokens().length + c.blockTable().length;
        }
        ByteBuffer b = ByteBuffer.allocate(ints * 4 + chunks.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(microBatch).putInt(microBatches).putInt(copyFrom.length);
        for (int i = 0; i < copyFrom.length; i++) {
            b.putInt(copyFrom[i]).putInt(copyTo[i]);
        }
        b.putInt(chunks.size());
        for (Chunk c : chunks) {
            b.putInt(c.start()).put((byte) c.logits().ordinal()).putInt(c.tokens().length);
            for (int t : c.tokens()) {
                b.putInt(t);
            }
            b.putInt(c.blockTable().length);
            for (int id : c.blockTable()) {
                b.putInt(id);
            }
        }
        return b.array();
    }

    public static Step decode(byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        int mb = b.getInt();
        int mbs = b.getInt();
        int copies = checkCount(b.getInt(), b);
        int[] from = new int[copies];
        int[] to = new int[copies];
        for (int i = 0; i < copies; i++) {
            from[i] = b.getInt();
            to[i] = b.getInt();
        }
        int seqs = checkCount(b.getInt(), b);
        List<Chunk> chunks = new ArrayList<>(seqs);
        for (int s = 0; s < seqs; s++) {
            int start = b.getInt();
            ForwardBatch.Logits mode = ForwardBatch.Logits.values()[b.get()];
            int[] tokens = new int[checkCount(b.getInt(), b)];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = b.getInt();
            }
            int[] table = new int[checkCount(b.getInt(), b)];
            for (int i = 0; i < table.length; i++) {
                table[i] = b.getInt();
            }
            chunks.add(new Chunk(table, tokens, start, mode));
        }
        return new Step(mb, mbs, from, to, chunks.isEmpty() ? null : build(chunks));
    }

    private static int checkCount(int n, ByteBuffer b) {
        if (n < 0 || n > b.remaining()) {
            throw new IllegalArgumentException("malformed step: count " + n + " with " + b.remaining() + " bytes left");
        }
        return n;
    }

    static String describe(int[] a) {
        return Arrays.toString(a);
    }
}
