package io.tessera.cluster.collective;

import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Wire;
import io.tessera.core.shard.Collectives;
import java.util.function.IntFunction;

/**
 * Ring collectives among the {@code size} tensor-parallel ranks of one pipeline stage. Rank r
 * sends only to rank r+1 and receives only from rank r-1 (mod size); for two ranks the ring is a
 * direct exchange.
 *
 * <p><b>All-reduce</b> = reduce-scatter + all-gather over {@code size} chunks of the buffer. In
 * reduce-scatter step s (0 ≤ s &lt; size-1) rank r sends chunk (r-s) and adds the chunk (r-s-1)
 * it receives; after size-1 steps rank r holds the full sum of chunk (r+1). In all-gather step s
 * rank r sends chunk (r+1-s) and stores the chunk (r-s) it receives. Each chunk is summed once, on
 * one rank, in one fixed order, then copied: every rank ends with bit-identical values. With the
 * bf16 wire the owner rounds its finished chunk to bf16 too, for the same reason. Bytes on the
 * wire per call and rank: {@code 2·(size-1)/size · N · b} payload (b = 4 for f32, 2 for bf16) plus
 * {@code 2·(size-1)} frame headers of {@value Frame#HEADER_BYTES} bytes; the stage as a whole
 * sends {@code 2·(size-1)·N·b}.
 *
 * <p><b>All-gather</b>: size-1 ring steps of one part each: per rank {@code (size-1)·N_part·b}
 * bytes plus size-1 headers.
 */
public final class RingCollectives implements Collectives {

    private final int rank;
    private final int size;
    private final Link next;
    private final int prevId;
    private final Mailbox mailbox;
    private final Wire wire;
    private final long timeoutMillis;
    private final IntFunction<String> failure;
    private long step;
    private int call;

    /**
     * @param next link to rank+1 (mod size)
     * @param prevId worker id of rank-1 (mod size), the source of received chunks
     */
    public RingCollectives(int rank, int size, Link next, int prevId, Mailbox mailbox, Wire wire, long timeoutMillis,
            IntFunction<String> failure) {
        this.rank = rank;
        this.size = size;
        this.next = next;
        this.prevId = prevId;
        this.mailbox = mailbox;
        this.wire = wire;
        this.timeoutMillis = timeoutMillis;
        this.failure = failure;
    }

    /** Starts a new step: tags of its collectives are derived from it so stale frames can be told apart. */
    public void beginStep(long stepTag) {
        this.step = stepTag;
        this.call = 0;
    }

    private long tag(int sub) {
        return (step << 24) | ((long) call << 8) | sub;
    }

    private int chunkStart(int length, int c) {
        return (int) ((long) length * c / size);
    }

    @Override
    public void allReduceSum(float[] buf, int length) {
        if (size == 1) {
            return;
        }
        call++;
        for (int s = 0; s < size - 1; s++) {
            int send = Math.floorMod(rank - s, size);
            int recv = Math.floorMod(rank - s - 1, size);
            int from = chunkStart(length, send);
            next.send(MessageType.REDUCE_CHUNK, tag(s), wire.encode(buf, from, chunkStart(length, send + 1) - from));
            Frame f = mailbox.take(MessageType.REDUCE_CHUNK, prevId, tag(s), timeoutMillis, failure);
            int rFrom = chunkStart(length, recv);
            wire.decodeAdd(f.payload(), buf, rFrom, chunkStart(length, recv + 1) - rFrom);
        }
        int owned = Math.floorMod(rank + 1, size);
        if (wire != Wire.F32) {
            int from = chunkStart(length, owned);
            int n = chunkStart(length, owned + 1) - from;
            wire.decode(wire.encode(buf, from, n), 0, buf, from, n);
        }
        for (int s = 0; s < size - 1; s++) {
            int send = Math.floorMod(rank + 1 - s, size);
            int recv = Math.floorMod(rank - s, size);
            int from = chunkStart(length, send);
            next.send(MessageType.GATHER_CHUNK, tag(64 + s), wire.encode(buf, from, chunkStart(length, send + 1) - from));
            Frame f = mailbox.take(MessageType.GATHER_CHUNK, prevId, tag(64 + s), timeoutMillis, failure);
            int rFrom = chunkStart(length, recv);
            wire.decode(f.payload(), 0, buf, rFrom, chunkStart(length, recv + 1) - rFrom);
        }
    }

    @Override
    public float[] allGather(float[] part, int length) {
        float[] out = new float[length * size];
        System.arraycopy(part, 0, out, rank * length, length);
        if (wire != Wire.F32) {
            wire.decode(wire.encode(out, rank * length, length), 0, out, rank * length, length);
        }
        if (size == 1) {
            return out;
        }
        call++;
        for (int s = 0; s < size - 1; s++) {
            int send = Math.floorMod(rank - s, size);
            int recv = Math.floorMod(rank - s - 1, size);
            next.send(MessageType.GATHER_CHUNK, tag(128 + s), wire.encode(out, send * length, length));
            Frame f = mailbox.take(MessageType.GATHER_CHUNK, prevId, tag(128 + s), timeoutMillis, failure);
            wire.decode(f.payload(), 0, out, recv * length, length);
        }
        return out;
    }
}
