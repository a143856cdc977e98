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
 *       to a decode instance: load the prompt's KV from there instead of computing it.
 *   <li>Push mode: {@code {"do_remote_decode": true, "transfer_id": ..., "remote_host": ...,
 *       "remote_port": ...}} to a prefill instance (push the KV to that decode instance's KV address
 *       as it is computed) and {@code {"do_remote_prefill": true, "transfer_id": ..., "push": true}} to
 *       the decode instance (wait for that push).
 * </ul>
 *
 * The engine's connector decides whether this instance takes part and which peers it pulls from.
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
        if (decodeElsewhere == prefilledElsewhere) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params' must set exactly one of "
                    + "do_remote_decode and do_remote_prefill");
        }
        KvTransfer t;
        try {
            JsonNode port = p.get("remote_port");
            int remotePort = port != null && port.canConvertToInt() && port.isIntegralNumber() ? port.asInt() : -1;
            if (decodeElsewhere && p.has("remote_host")) {
                t = KvTransfer.producePush(p.path("transfer_id").asText(""), p.path("remote_host").asText(""),
                        remotePort);
            } else if (decodeElsewhere) {
                t = KvTransfer.produce(UUID.randomUUID().toString());
            } else if (Fields.bool(p, "push", false)) {
                t = KvTransfer.consumePushed(p.path("transfer_id").asText(""));
            } else {
                t = KvTransfer.consume(p.path("transfer_id").asText(""), p.path("remote_host").asText(""), remotePort);
            }
        } catch (IllegalArgumentException e) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params': " + e.getMessage());
        }
        String refusal = connector.refuses(t);
        if (refusal != null) {
            throw ApiException.badParam("kv_transfer_params", "'kv_transfer_params': " + refusal);
        }
        return t;
    }
}
