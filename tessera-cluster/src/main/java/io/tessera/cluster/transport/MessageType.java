package io.tessera.cluster.transport;

/** The kinds of frames; the numeric code is the frame's type byte. */
public enum MessageType {
    /** Client → server, first frame of a connection: payload = the shared token (UTF-8). */
    HELLO(1),
    /** Server → client: the token matched. */
    HELLO_OK(2),
    /** Either way: payload = UTF-8 message; on a failed HELLO the connection is then closed. */
    ERROR(3),
    /** Coordinator → worker: payload = the shard plan (UTF-8 JSON). */
    PLAN(4),
    /** Worker → coordinator: shard loaded; payload = UTF-8 JSON facts (bytes, load time). */
    READY(5),
    /** Coordinator → every worker: one micro-batch of one step (see BatchCodec). */
    STEP(6),
    /** Stage → next stage (same tensor rank): activations, tokens × dim values. */
    ACTIVATION(7),
    /** Last stage's rank 0 → coordinator: u32 rows, u32 vocab, rows × vocab f32. */
    LOGITS(8),
    /** Tensor rank → next rank of the ring: one chunk of a reduce-scatter. */
    REDUCE_CHUNK(9),
    /** Tensor rank → next rank of the ring: one chunk of an all-gather. */
    GATHER_CHUNK(10),
    /** Coordinator → worker and back: liveness (answered on the I/O thread). */
    PING(11),
    PONG(12),
    /** Coordinator → worker: report counters once every earlier step is done; worker → coordinator: JSON. */
    STATS(13),
    /** Coordinator → worker: drop the shard and cache (the coordinator is going away). */
    RELEASE(14),
    /** Coordinator → worker: give up every step with a tag up to this frame's tag (a worker was lost). */
    ABORT(15),
    /** Decode instance → prefill instance: send a request's pinned KV blocks (UTF-8 JSON: id, range, layout). */
    KV_PULL(16),
    /** Prefill → decode: one layer of one block, in the cache's precision: u32 layer, u32 block index, bytes. */
    KV_BLOCK(17),
    /** Prefill → decode: every block of the pull was sent (an ERROR with the pull's tag says it failed). */
    KV_DONE(18),
    /**
     * Expert-parallel rank → each other rank of its group, per mixture-of-experts layer: the token
     * rows it needs computed by that rank's experts: u32 rows, u32 × rows expert ids, rows × dim values.
     */
    EXPERT_DISPATCH(19),
    /** Expert-parallel rank → each rank that dispatched to it: the expert outputs, u32 rows, rows × dim values. */
    EXPERT_COMBINE(20),
    /**
     * Decode → prefill instance: a pinned transfer will not be pulled (the decode instance's own prefix
     * cache holds the prompt, or its request ended first); UTF-8 JSON: {@code transfer_id}.
     */
    KV_RELEASE(22),
    /**
     * Prefill → decode instance: a request's KV will be pushed as it is computed; UTF-8 JSON:
     * {@code transfer_id}, {@code layout}, {@code tokens}; tag = the push's id.
     */
    KV_PUSH(23),
    /**
     * Decode → prefill instance: a request waits for the push of that tag; UTF-8 JSON: {@code load} (the
     * tag its KV_BLOCK, KV_DONE and ERROR frames carry), {@code from_block}, {@code tokens}.
     */
    KV_PUSH_READY(24),
    /**
     * Coordinator → worker: one layer of one block of this worker's KV cache, written in (KV loaded
     * from another instance, re-sharded to this worker's heads): u32 layer within the stage, u32 block,
     * its keys then values in the cache's precision.
     */
    KV_WRITE(25);

    private static final MessageType[] BY_CODE = new MessageType[32];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static MessageType of(int code) {
        MessageType t = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        if (t == null) {
            throw new IllegalArgumentException("unknown frame type " + code);
        }
        return t;
    }
}
