package io.tessera.engine.connector;

/**
 * A request's part in a prefill/decode disaggregated exchange.
 *
 * <ul>
 *   <li>{@link Role#PRODUCE}: the request is prefilled here for a decode instance elsewhere; when it
 *       finishes, its blocks stay pinned under {@code transferId} until they are pulled or time out.
 *   <li>{@link Role#CONSUME}: the request's prompt KV was computed by a prefill instance at
 *       {@code remoteHost:remotePort} under {@code transferId}; it is loaded into fresh blocks
 *       instead of being prefilled here (all prompt tokens but the last, whose logits are needed).
 *   <li>{@link Role#PEER_PREFIX}: another replica at {@code remoteHost:remotePort} may hold the
 *       prompt's prefix in its prefix cache or offload tiers (a router's hint); the full blocks it
 *       has beyond this engine's own hits are fetched from it, the rest is computed here. A hint is
 *       advisory: when the peer has nothing, fails or is not an allowed peer, the prompt is computed.
 * </ul>
 *
 * @param remoteHost the prefill instance's or peer's KV transfer address (CONSUME, PEER_PREFIX), else null
 * @param remotePort its port (CONSUME, PEER_PREFIX), else 0
 */
public record KvTransfer(Role role, String transferId, String remoteHost, int remotePort) {

    /** Longest transfer id accepted. */
    public static final int MAX_ID_CHARS = 128;

    public enum Role {
        PRODUCE, CONSUME, PEER_PREFIX
    }

    public KvTransfer {
        if (role == null) {
            throw new IllegalArgumentException("a KV transfer needs a role");
        }
        if (transferId == null || transferId.isEmpty() || transferId.length() > MAX_ID_CHARS
                || !transferId.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("a KV transfer id must be 1.." + MAX_ID_CHARS
                    + " printable ASCII characters");
        }
        if (role != Role.PRODUCE && (remoteHost == null || remoteHost.isEmpty() || remotePort < 1
                || remotePort > 65535)) {
            throw new IllegalArgumentException("a KV transfer from another instance needs its host and a port 1..65535");
        }
    }

    public static KvTransfer produce(String transferId) {
        return new KvTransfer(Role.PRODUCE, transferId, null, 0);
    }

    public static KvTransfer consume(String transferId, String host, int port) {
        return new KvTransfer(Role.CONSUME, transferId, host, port);
    }

    /** A hint that the replica at {@code host:port} may hold this prompt's prefix; {@code id} names it in logs. */
    public static KvTransfer peerPrefix(String id, String host, int port) {
        return new KvTransfer(Role.PEER_PREFIX, id, host, port);
    }
}
