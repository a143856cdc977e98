package io.tessera.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peer prefix fetch, the router's part: when the replica holding a prompt's prefix is busier than
 * the least loaded one by more than the affinity slack, the request goes to the least loaded one
 * with a hint naming the holder's KV address ({@code kv_transfer_params: {"fetch_prefix_from_peer":
 * true, "remote_host": ..., "remote_port": ...}}), and that replica fetches the prefix's cached
 * blocks from the holder instead of computing them. The hint replaces any {@code kv_transfer_params}
 * of the client's. A replica that cannot use it (not configured for KV transfer, holder not among its
 * {@code --kv-peers}) ignores it and computes the prompt, so a hint never fails a request.
 */
final class PrefixFetchHints {

    private final AtomicLong hints = new AtomicLong();

    /**
     * The body to send {@code chosen} with a hint to fetch from {@code holder}, or null when no hint
     * applies (not a generation request, not a JSON object, a holder without a KV address).
     */
    byte[] withHint(String method, String path, byte[] body, Replica holder, Replica chosen) {
        // the chosen replica needs no KV address of its own to fetch (only --kv-peers naming the holder)
        if (!method.equals("POST") || !Disaggregation.GENERATION.contains(path) || holder.kvAddress() == null
                || holder == chosen) {
            return null;
        }
        try {
            JsonNode j = Replies.JSON.readTree(body);
            if (j == null || !j.isObject()) {
                return null;
            }
            ObjectNode request = (ObjectNode) j;
            String address = holder.kvAddress();
            int colon = address.lastIndexOf(':');
            ObjectNode params = request.putObject("kv_transfer_params");
            params.put("fetch_prefix_from_peer", true);
            params.put("remote_host", address.substring(0, colon));
            params.put("remote_port", Integer.parseInt(address.substring(colon + 1)));
            byte[] out = Replies.JSON.writeValueAsBytes(request);
            hints.incrementAndGet();
            return out;
        } catch (IOException e) {
            return null; // not JSON: the replica answers the client's mistake
        }
    }

    /** Requests sent away from their prefix's holder with a hint to fetch from it. */
    long count() {
        return hints.get();
    }

    /** Checks a replica's KV transfer address, {@code HOST:PORT}; returns it, or null for "-" (none). */
    static String checkAddress(String address) {
        if (address == null || address.equals("-")) {
            return null;
        }
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || !address.substring(colon + 1).matches("[0-9]{1,5}")
                || Integer.parseInt(address.substring(colon + 1)) < 1
                || Integer.parseInt(address.substring(colon + 1)) > 65535) {
            throw new IllegalArgumentException("a replica's KV address must be HOST:PORT (port 1..65535) or '-', got '"
                    + address + "'");
        }
        return address;
    }
}
