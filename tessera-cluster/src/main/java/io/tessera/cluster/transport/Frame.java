package io.tessera.cluster.transport;

/**
 * One message on the wire. Layout (all integers little-endian):
 *
 * <pre>
 *   u32 length    bytes after this field: 11 + payload
 *   u8  type      {@link MessageType}
 *   i16 source    sender's worker id (-1: the coordinator)
 *   i64 tag       step and collective sequence number; frames of an older tag are stale
 *   ... payload   type-specific; tensors as raw little-endian f32 or bf16
 * </pre>
 */
public record Frame(MessageType type, int source, long tag, byte[] payload) {

    /** Bytes of the header, the length field included. */
    public static final int HEADER_BYTES = 4 + 1 + 2 + 8;

    public static Frame of(MessageType type, int source, long tag) {
        return new Frame(type, source, tag, new byte[0]);
    }

    public int wireBytes() {
        return HEADER_BYTES + payload.length;
    }
}
