package io.tessera.engine.executor;

/**
 * The executor half of a KV connector: one layer of one block of the executor's KV cache, keys then
 * values, in the cache's own precision, read out or written in. A connector saves a finished
 * request's blocks layer by layer through it and loads another instance's blocks into freshly
 * allocated ones. Blocks it touches are pinned or freshly allocated by the scheduler, so the forward
 * pass never reads or writes them at the same time; calls may come from any thread.
 */
public interface KvBlockIo {

    /**
     * What must match between two caches for their blocks to be exchanged as bytes, e.g.
     * "f16 layers=5 kvDim=64 block=16".
     */
    String layout();

    int layers();

    /** Bytes of one layer of one block, keys and values together. */
    int blockLayerBytes();

    void readBlockLayer(int layer, int block, byte[] dst, int offset);

    void writeBlockLayer(int layer, int block, byte[] src, int offset);

    /**
     * Whether {@link #readBlockLayer} works: false for a cache spread over workers that this process
     * can only write to (it then only receives KV, as a decode instance).
     */
    default boolean readable() {
        return true;
    }

    /** The layout string both sides of a transfer compare, e.g. "f16 layers=5 kvDim=64 block=16". */
    static String layout(String type, int layers, int kvDim, int blockSize) {
        return type + " layers=" + layers + " kvDim=" + kvDim + " block=" + blockSize;
    }
}
