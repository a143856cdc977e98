package io.tessera.cluster;

import io.tessera.cluster.transport.Link;
import io.tessera.cluster.transport.MessageType;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.shard.ShardSpec;
import io.tessera.engine.executor.KvBlockIo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;

/**
 * The KV blocks of a distributed executor as one whole-model cache, for a KV connector that loads
 * another instance's blocks (a decode instance with {@code --tp}/{@code --pp} fed by a prefill
 * instance with other degrees, e.g. TP 1 → TP 2). A block layer arrives as the whole model has it
 * (every KV head, keys then values, in the cache's precision); it is re-sharded here: the layer goes
 * to the workers of the stage that holds it, and each tensor rank gets the slots' bytes of its own KV
 * heads (a head's bytes are a whole number of the type's blocks, so cutting by heads is cutting
 * bytes), as a {@code KV_WRITE} frame.
 *
 * <p>Ordering: a worker applies KV_WRITE frames on its compute thread in the order they arrive on its
 * coordinator connection, the same queue as its steps. A connector reports a load finished only
 * after every write of it was handed to the connections, and the engine sends the step that reads
 * those blocks after that, so every worker has written them before it computes with them.
 *
 * <p>Reading blocks back (a tensor-parallel prefill instance) is not built: {@link #readable()} is
 * false, and such an instance cannot produce KV for others.
 */
final class ShardedKvBlocks implements KvBlockIo {

    /** Bytes before a KV_WRITE's data: u32 layer (within the stage), u32 block. */
    static final int HEADER = 8;

    private final ModelConfig model;
    private final KvCacheType type;
    private final int tp;
    private final int[] stageBounds;
    private final int blockSize;
    private final IntFunction<Link> worker;
    private final LongSupplier tag;
    private final long headBytes;
    private final long vectorBytes;

    /**
     * @param worker the current connection to worker {@code w} (stage-major: {@code stage × tp + rank})
     * @param tag the tag KV_WRITE frames carry (a worker's ERROR with it marks the worker failed)
     */
    ShardedKvBlocks(ModelConfig model, KvCacheType type, int tp, int[] stageBounds, int blockSize,
            IntFunction<Link> worker, LongSupplier tag) {
        this.model = model;
        this.type = type;
        this.tp = tp;
        this.stageBounds = stageBounds.clone();
        this.blockSize = blockSize;
        this.worker = worker;
        this.tag = tag;
        this.headBytes = type.bytesPerHead(model.headDim());
        this.vectorBytes = model.kvHeads() * headBytes;
    }

    @Override
    public String layout() {
        return KvBlockIo.layout(type.name().toLowerCase(Locale.ROOT), model.layers(), model.kvDim(), blockSize);
    }

    @Override
    public int layers() {
        return model.layers();
    }

    @Override
    public int blockLayerBytes() {
        return Math.toIntExact(2 * blockSize * vectorBytes);
    }

    @Override
    public boolean readable() {
        return false;
    }

    @Override
    public void readBlockLayer(int layer, int block, byte[] dst, int offset) {
        throw new UnsupportedOperationException("KV blocks are not read back from tensor- or pipeline-parallel "
                + "workers: such an instance only receives KV");
    }

    @Override
    public void writeBlockLayer(int layer, int block, byte[] src, int offset) {
        if (layer < 0 || layer >= model.layers()) {
            throw new IllegalArgumentException("layer " + layer + " outside 0.." + (model.layers() - 1));
        }
        int stage = 0;
        while (layer >= stageBounds[stage + 1]) {
            stage++;
        }
        for (int rank = 0; rank < tp; rank++) {
            ShardSpec spec = new ShardSpec(rank, tp, stage, stageBounds.length - 1, stageBounds[stage],
                    stageBounds[stage + 1]);
            byte[] part = slice(src, offset, spec.kvHeadFrom(model), spec.kvHeadsPerRank(model));
            ByteBuffer.wrap(part).order(ByteOrder.LITTLE_ENDIAN).putInt(layer - stageBounds[stage]).putInt(block);
            Link link = worker.apply(stage * tp + rank);
            if (link == null || !link.isOpen()) {
                throw new IllegalStateException("worker " + (stage * tp + rank) + " is not connected");
            }
            link.send(MessageType.KV_WRITE, tag.getAsLong(), part);
        }
    }

    /**
     * The KV_WRITE payload for {@code heads} KV heads from {@code firstHead}: the header's room, then
     * those heads' bytes of every slot's keys, then of every slot's values.
     */
    byte[] slice(byte[] src, int offset, int firstHead, int heads) {
        int len = Math.toIntExact(heads * headBytes);
        int from = Math.toIntExact(firstHead * headBytes);
        byte[] part = new byte[HEADER + 2 * blockSize * len];
        int at = HEADER;
        for (int half = 0; half < 2; half++) {
            long base = offset + half * blockSize * vectorBytes;
            for (int slot = 0; slot < blockSize; slot++) {
                System.arraycopy(src, Math.toIntExact(base + slot * vectorBytes + from), part, at, len);
                at += len;
            }
        }
        return part;
    }
}
