package io.tessera.engine.connector;

/**
 * A request's part in a prefill/decode disaggregated exchange.
 *
 * <ul>
 *   <li>{@link Role#PRODUCE}: the request is prefilled here for a decode instance elsewhere. By pull
 *       ({@code push} false), its blocks stay pinned under {@code transferId} when it finishes,
 *       until they are pulled or time out. By push, its block layers are sent as the forward pass
 *       computes them to the decode instance at {@code remoteHost:remotePort}, under
 *       {@code transferId}.
 *   <li>{@link Role#CONSUME}: the request's prompt KV was computed by a prefill instance under
 *       {@code transferId}; it is loaded into fresh blocks instead of being prefilled here (all
 *       prompt tokens but the last, whose logits are needed): pulled from
 *       {@code remoteHost:remotePort}, or, with {@code push}, received from whichever prefill
 *       instance pushes that id.
 *   <li>{@link Role#PEER_PREFIX}: another replica at {@code remoteHost:remotePort} may hold the
 *       prompt's prefix in its prefix cache or offload tiers (a router's hint); the full blocks it
 *       has beyond this engine's own hits are fetched from it, the rest is computed here. A hint is
 *       advisory: when the peer has nothing, fails or is not an allowed peer, the prompt is computed.
 * </ul>
 *
 * @param remoteHost the other instance's KV transfer address (pull and peer prefix: where to fetch
 *     from; push: where to push to), or null where there is none (a pulled producer, a pushed consumer)
 * @param remotePort its port, else 0
 * @param push whether the prefill instance sends the KV as it computes it (push) rather than the
 *     decode instance asking for it when the prompt is done (pull); only PRODUCE and CONSUME push
 */
public record KvTransfer(Role role, String transferId, String remoteHost, int remotePort, boolean push) {

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
        if (push && role == Role.PEER_PREFIX) {
            throw new IllegalArgumentException("a peer prefix fetch is not pushed");
        }
        // pulls and peer fetches name where to fetch from, pushes where to push to
        boolean needsRemote = role == Role.PRODUCE ? push : !push;
        if (needsRemote && (remoteHost == null || remoteHost.isEmpty() || remotePort < 1 || remotePort > 65535)) {
            throw new IllegalArgumentException(role == Role.PRODUCE
                    ? "a KV transfer to push needs the decode instance's host and a port 1..65535"
                    : "a KV transfer from another instance needs its host and a port 1..65535");
        }
    }

    public KvTransfer(Role role, String transferId, String remoteHost, int remotePort) {
        this(role, transferId, remoteHost, remotePort, false);
    }

    /** Prefill here; the decode instance pulls the KV when the prompt is done. */
    public static KvTransfer produce(String transferId) {
        return new KvTransfer(Role.PRODUCE, transferId, null, 0, false);
    }

    /** Prefill here and push the KV, layer by layer as it is computed, to the decode instance at host:port. */
    public static KvTransfer producePush(String transferId, String host, int port) {
        return new KvTransfer(Role.PRODUCE, transferId, host, port, true);
    }

    /** Pull the prompt's KV from the prefill instance at host:port. */
    public static KvTransfer consume(String transferId, String host, int port) {
        return new KvTransfer(Role.CONSUME, transferId, host, port, false);
    }

    /** Receive the prompt's KV from the prefill instance that pushes {@code transferId}. */
    public static KvTransfer consumePushed(String transferId) {
        return new KvTransfer(Role.CONSUME, transferId, null, 0, true);
    }

    /** A hint that the replica at {@code host:port} may hold this prompt's prefix; {@code id} names it in logs. */
    public static KvTransfer peerPrefix(String id, String host, int port) {
        return new KvTransfer(Role.PEER_PREFIX, id, host, port);
    }
}
