package io.tessera.engine.connector;

import java.util.function.Consumer;

/**
 * Another instance asks this one for the cached KV blocks of a token prefix (peer prefix fetch):
 * blocks {@code fromBlock} onwards of the prefix {@code tokens} (a whole number of blocks). The
 * scheduler, on its thread, looks them up in its prefix cache and offload tiers in order, stops at
 * the first it does not have, takes a reference to each block found (a pin, so that no request of
 * this instance overwrites it while it is sent) and hands them to {@link #answer}. The connector
 * sends them and reports {@link KvConnector.Event#released} with the pin id, which frees them.
 */
public final class PrefixQuery {

    private final int[] tokens;
    private final int fromBlock;
    private final Consumer<Pinned> answer;

    /**
     * The blocks found and pinned, in prefix order from {@code fromBlock}; empty when none.
     *
     * @param pinId what the connector reports released once the blocks are sent (meaningless when empty)
     */
    public record Pinned(long pinId, int[] blocks) {
    }

    /**
     * @param tokens the prefix's tokens, a whole number of blocks
     * @param fromBlock the first block wanted (the asking instance has the ones before)
     * @param answer called once on the engine thread with the pinned blocks; must not block
     */
    public PrefixQuery(int[] tokens, int fromBlock, Consumer<Pinned> answer) {
        this.tokens = tokens;
        this.fromBlock = fromBlock;
        this.answer = answer;
    }

    public int[] tokens() {
        return tokens;
    }

    public int fromBlock() {
        return fromBlock;
    }

    public void answer(Pinned pinned) {
        answer.accept(pinned);
    }
}
