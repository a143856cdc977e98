package io.tessera.core.forward;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokens routed to each expert of each layer since the forward pass was built: a token counts once
 * for each of its k experts. Written by the forward pass, read at any time from other threads
 * (metrics): each layer's counts are added once per step.
 */
public final class ExpertLoad {

    private final AtomicLongArray[] counts;

    ExpertLoad(int layers, int experts) {
        counts = new AtomicLongArray[layers];
        for (int l = 0; l < layers; l++) {
            counts[l] = new AtomicLongArray(experts);
        }
    }

    void add(int layer, int expert, long tokens) {
        if (tokens != 0) {
            counts[layer].addAndGet(expert, tokens);
        }
    }

    /** [layer][expert] counts, every layer of the model (dense layers and other stages' layers stay 0). */
    public long[][] snapshot() {
        long[][] out = new long[counts.length][];
        for (int l = 0; l < counts.length; l++) {
            out[l] = new long[counts[l].length()];
            for (int e = 0; e < out[l].length; e++) {
                out[l][e] = counts[l].get(e);
            }
        }
        return out;
    }
}
