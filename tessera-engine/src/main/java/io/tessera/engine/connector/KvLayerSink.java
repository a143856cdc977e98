package io.tessera.engine.connector;

/**
 * The executor half's "save layer" hook (vLLM's {@code save_kv_layer}): told on the executor's
 * compute thread, during a step's forward pass, each time the keys and values of one layer are in
 * the cache for every token of the step. A connector that pushes KV copies the block layers that
 * became complete and sends them while the forward pass goes on with the next layers, so the
 * transfer overlaps the prefill. It must not block for long: the forward pass waits for it.
 */
@FunctionalInterface
public interface KvLayerSink {

    /** Layer {@code layer} (an index into the executor's cache layers) is stored for the whole step. */
    void layerStored(int layer);
}
