package io.tessera.cluster.collective;

import io.tessera.cluster.transport.Frame;
import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.Mailbox;
import io.tessera.cluster.transport.MessageType;
import io.tessera.cluster.transport.Wire;
import io.tessera.core.shard.ExpertExchange;
import io.tessera.core.shard.ExpertPlacement;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntFunction;

/**
 * The all-to-all of one expert-parallel group (the ranks of one pipeline stage), DeepSeek-style:
 * per mixture-of-experts layer every rank sends each other rank one EXPERT_DISPATCH frame (the
 * rows of its (token, expert) pairs that rank computes, with the expert ids), then one
 * EXPERT_COMBINE frame back with the outputs of the rows it received. All sends of a round go out
 * before any receive, so no pair of ranks waits on each other.
 *
 * <p>Bytes per round and rank: for each peer a frame header of {@value Frame#HEADER_BYTES} bytes
 * and 4 bytes of row count, then for a dispatch {@code rows · (4 + dim · b)} and for a combine
 * {@code rows · dim · b} (b = 4 for f32, 2 for bf16). A token whose k experts are all on other ranks
 * costs {@code k · dim · b} each way, the textbook figure.
 */
public final class ExpertAllToAll implements ExpertExchange {

    private final int rank;
    private final int[] workerIds;
    private final Link[] links;
    private final ExpertPlacement placement;
    private final Mailbox mailbox;
    private final Wire wire;
    private final int dim;
    private final long timeoutMillis;
    private final IntFunction<String> failure;
    private long step;
    private int call;

    /**
     * @param workerIds the worker id of each rank of the group (the source of frames received)
     * @param links a link to each other rank (own slot null)
     */
    public ExpertAllToAll(int rank, int[] workerIds, Link[] links, ExpertPlacement placement, Mailbox mailbox,
            Wire wire, int dim, long timeoutMillis, IntFunction<String> failure) {
        this.rank = rank;
        this.workerIds = workerIds.clone();
        this.links = links.clone();
        this.placement = placement;
        this.mailbox = mailbox;
        this.wire = wire;
        this.dim = dim;
        this.timeoutMillis = timeoutMillis;
        this.failure = failure;
    }

    /** Starts a new step: tags of its exchanges are derived from it so stale frames can be told apart. */
    public void beginStep(long stepTag) {
        this.step = stepTag;
        this.call = 0;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int ranks() {
        return workerIds.length;
    }

    @Override
    public ExpertPlacement placement() {
        return placement;
    }

    @Override
    public Parcel[] exchange(Parcel[] out, boolean dispatch) {
        if (dispatch) {
            call++;
        }
        long tag = (step << 24) | ((long) call << 8) | (dispatch ? 0 : 1);
        MessageType type = dispatch ? MessageType.EXPERT_DISPATCH : MessageType.EXPERT_COMBINE;
        for (int q = 0; q < workerIds.length; q++) {
            if (q != rank) {
                links[q].send(type, tag, encode(out[q], dispatch));
            }
        }
        Parcel[] in = new Parcel[workerIds.length];
        for (int q = 0; q < workerIds.length; q++) {
            if (q != rank) {
                Frame f = mailbox.take(type, workerIds[q], tag, timeoutMillis, failure);
                in[q] = decode(f.payload(), dispatch, workerIds[q]);
            }
        }
        return in;
    }

    private byte[] encode(Parcel p, boolean dispatch) {
        int rows = p.rows();
        int ids = dispatch ? rows * 4 : 0;
        byte[] values = wire.encode(p.values(), 0, rows * dim);
        ByteBuffer b = ByteBuffer.allocate(4 + ids + values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(rows);
        for (int i = 0; dispatch && i < rows; i++) {
            b.putInt(p.experts()[i]);
        }
        b.put(values);
        return b.array();
    }

    private Parcel decode(byte[] payload, boolean dispatch, int source) {
        ByteBuffer b = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        int rows = b.getInt();
        long expected = 4L + (long) rows * ((dispatch ? 4 : 0) + (long) dim * wire.bytesPerValue());
        if (rows < 0 || expected != payload.length) {
            throw new IllegalStateException("malformed expert " + (dispatch ? "dispatch" : "combine") + " from worker "
                    + source + ": " + payload.length + " bytes for " + rows + " rows of " + dim);
        }
        int[] experts = dispatch ? new int[rows] : null;
        for (int i = 0; dispatch && i < rows; i++) {
            experts[i] = b.getInt();
        }
        float[] values = new float[rows * dim];
        wire.decode(payload, b.position(), values, 0, rows * dim);
        return new Parcel(rows, experts, values);
    }
}
