package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.connector.KvTransfer;
import java.util.UUID;

/**
 * The {@code kv_transfer_params} request field of prefill/decode disaggregation (vLLM's name and
 * keys), which a disaggregating router sends:
 *
 * <ul>
 *   <li>{@code {"do_remote_decode": true}} to a prefill instance: prefill the prompt (with max tokens
 *       1) and keep its KV for a decode instance; the response carries {@code kv_transfer_params}
 *       with {@code transfer_id}, {@code remote_host} and {@code remote_port};
 *   <li>{@code {"do_remote_prefill": true, "transfer_id": ..., "remote_host": ..., "remote_port": ...}}
 *       to a decode instance: load the prompt's KV from there instead of computing it;
 *   <li>{@code {"fetch_prefix_from_peer": true, "remote_host": ..., "remote_port": ...}} to a replica
 *       (from a data-parallel router that sends a request away from the busy replica holding its
 *       prefix): fetch the prefix's cached blocks from that replica's KV address, compute the rest.
 * </ul>
 *
 * The engine's connector decides whether this instance takes part and which peers it pulls from; a
 * prefix hint it cannot use (no connector, a peer outside {@code --kv-peers}) is ignored, since it
 * only saves work. A malformed field is a 400 naming it.
 */
final class KvTransferParams {

    private KvTransferParams() {
    }

    /** The request's transfer, or null when it has none; a 400 naming the field when it is malformed or refused. */
    static KvTransfer parse(JsonNode body, KvConnector connector) {
        JsonNode p = body.get("kv_transfer_params");
        if (p == null || p.isNull()) {
            return null;
        }
        if (!p.isObject()) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params' must be an object");
        }
        boolean decodeElsewhere = Fields.bool(p, "do_remote_decode", false);
        boolean prefilledElsewhere = Fields.bool(p, "do_remote_prefill", false);
        boolean prefixFromPeer = Fields.bool(p, "fetch_prefix_from_peer", false);
        if ((decodeElsewhere ? 1 : 0) + (prefilledElsewhere ? 1 : 0) + (prefixFromPeer ? 1 : 0) != 1) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params' must set exactly one of "
                    + "do_remote_decode, do_remote_prefill and fetch_prefix_from_peer");
        }
        KvTransfer t;
        try {
            if (decodeElsewhere) {
                t = KvTransfer.produce(UUID.randomUUID().toString());
            } else if (prefixFromPeer) {
                t = KvTransfer.peerPrefix("prefix-" + UUID.randomUUID(), Fields.string(p, "remote_host", ""),
                        port(p));
            } else {
                t = KvTransfer.consume(p.path("transfer_id").asText(""), p.path("remote_host").asText(""), port(p));
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params': " + e.getMessage());
        }
        String refusal = connector.refuses(t);
        if (refusal != null && t.role() == KvTransfer.Role.PEER_PREFIX) {
            return null; // a hint this instance cannot use: the prompt is computed here
        }
        if (refusal != null) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params': " + refusal);
        }
        return t;
    }

    /** {@code remote_port} as an int, or -1 when it is missing or not an integer (refused by {@link KvTransfer}). */
    private static int port(JsonNode p) {
        JsonNode port = p.get("remote_port");
        return port != null && port.canConvertToInt() && port.isIntegralNumber() ? port.asInt() : -1;
    }
}
