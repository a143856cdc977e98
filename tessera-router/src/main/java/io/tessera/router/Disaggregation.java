package io.tessera.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The prefill half of the router's disaggregated mode: before a generation request goes to a
 * decode instance, a prefill instance computes its prompt (the same body with {@code max_tokens} 1,
 * not streamed, and {@code kv_transfer_params: {"do_remote_decode": true}}) and answers where its KV
 * can be pulled from; the decode instance's body then carries {@code kv_transfer_params} with
 * {@code do_remote_prefill} and that address, and the decode instance's answer is the client's.
 *
 * <p>Conditional disaggregation: a prompt estimated below {@code localPrefillBelowTokens} is
 * prefilled by the decode instance itself (the transfer would cost more than it saves). When no
 * prefill instance can serve, the decode instance prefills too (a transparent fallback); a 4xx from
 * the prefill instance means the request itself is at fault, and the decode instance gives the
 * client the same answer. Every decision is counted.
 */
final class Disaggregation {

    /** The endpoints whose requests are disaggregated; others go to a decode instance as they are. */
    static final List<String> GENERATION = List.of("/v1/completions", "/v1/chat/completions");

    private final List<Replica> prefill;
    private final long localPrefillBelowTokens;
    private final HttpClient client;
    private final RouterConfig config;
    private final AtomicLong disaggregated = new AtomicLong();
    private final AtomicLong localShort = new AtomicLong();
    private final AtomicLong localFallback = new AtomicLong();
    private final AtomicLong prefillRetries = new AtomicLong();

    /** Push mode: each decode instance's KV address (its --kv-transfer-listen), else null (pull mode). */
    private final Map<Replica, String> pushTargets;

    Disaggregation(List<Replica> prefill, long localPrefillBelowTokens, HttpClient client, RouterConfig config,
            Map<Replica, String> pushTargets) {
        if (localPrefillBelowTokens < 0) {
            throw new IllegalArgumentException("--local-prefill-below must not be negative, got "
                    + localPrefillBelowTokens);
        }
        this.prefill = List.copyOf(prefill);
        this.localPrefillBelowTokens = localPrefillBelowTokens;
        this.client = client;
        this.config = config;
        this.pushTargets = pushTargets == null ? null : Map.copyOf(pushTargets);
    }

    List<Replica> prefillReplicas() {
        return prefill;
    }

    /**
     * The body for the decode instance: with the prompt's KV to pull, or {@code body} itself when the
     * decode instance prefills. Null when the client left meanwhile.
     *
     * @param track told of each attempt, so that a client leaving cancels it
     */
    byte[] decodeBody(String method, String path, byte[] body, Map<String, String> headers, long promptTokens,
            Consumer<Attempt> track) {
        ObjectNode request = disaggregable(method, path, body);
        if (request == null) {
            return body;
        }
        body = withoutTransferParams(request, body);
        if (promptTokens < localPrefillBelowTokens) {
            localShort.incrementAndGet();
            return body;
        }
        JsonNode kv = prefill(path, prefillBody(request, null), headers, promptTokens, track);
        if (kv == GONE) {
            return null;
        }
        if (kv == null) {
            return body;
        }
        ObjectNode decode = request.deepCopy();
        ObjectNode params = decode.putObject("kv_transfer_params");
        params.put("do_remote_prefill", true);
        params.set("transfer_id", kv.get("transfer_id"));
        params.set("remote_host", kv.get("remote_host"));
        params.set("remote_port", kv.get("remote_port"));
        return json(decode);
    }

    /** Whether prefill instances push the KV to decode instances (else decode instances pull it). */
    boolean pushes() {
        return pushTargets != null;
    }

    /**
     * Push mode: the body for decode instance {@code decode}, which waits for the prompt's KV under a
     * new transfer id, while a prefill instance, started here on another thread, computes the prompt
     * and pushes the KV there layer by layer. The decode instance prefills itself (the body as the
     * client sent it) for a short prompt, when no prefill instance is healthy, or on a retry
     * ({@code firstAttempt} false: the push went to the decode instance that failed).
     */
    byte[] pushBody(String method, String path, byte[] body, Map<String, String> headers, long promptTokens,
            Replica decode, boolean firstAttempt) {
        ObjectNode request = disaggregable(method, path, body);
        if (request == null) {
            return body;
        }
        body = withoutTransferParams(request, body);
        if (!firstAttempt) {
            return body;
        }
        if (promptTokens < localPrefillBelowTokens) {
            localShort.incrementAndGet();
            return body;
        }
        if (choose(List.of()) == null) {
            localFallback.incrementAndGet();
            return body;
        }
        String target = pushTargets.get(decode);
        int colon = target.lastIndexOf(':');
        String id = UUID.randomUUID().toString();
        ObjectNode push = Replies.JSON.createObjectNode();
        push.put("do_remote_decode", true);
        push.put("transfer_id", id);
        push.put("remote_host", target.substring(0, colon));
        push.put("remote_port", Integer.parseInt(target.substring(colon + 1)));
        byte[] prefillBody = prefillBody(request, push);
        Thread.ofVirtual().name("tessera-router-push-prefill").start(() -> {
            // the decode instance waits for the push; a prefill that fails makes it compute the prompt itself
            // (at once when the push's connection breaks, else after its --kv-transfer-timeout)
            if (prefill(path, prefillBody, headers, promptTokens, a -> { }) == null) {
                Router.LOG.log(System.Logger.Level.WARNING, "no prefill instance pushed " + path + " (transfer " + id
                        + "); the decode instance prefills it");
            }
        });
        ObjectNode d = request.deepCopy();
        ObjectNode params = d.putObject("kv_transfer_params");
        params.put("do_remote_prefill", true);
        params.put("transfer_id", id);
        params.put("push", true);
        return json(d);
    }

    /** The request as a JSON object when it is a generation request to disaggregate, else null. */
    private static ObjectNode disaggregable(String method, String path, byte[] body) {
        if (!method.equals("POST") || !GENERATION.contains(path)) {
            return null;
        }
        try {
            JsonNode j = Replies.JSON.readTree(body);
            return j != null && j.isObject() ? (ObjectNode) j : null; // else the decode instance answers the mistake
        } catch (IOException e) {
            return null;
        }
    }

    /** Only the router speaks of KV transfers to its instances: a client's own kv_transfer_params go. */
    private static byte[] withoutTransferParams(ObjectNode request, byte[] body) {
        return request.remove("kv_transfer_params") != null ? json(request) : body;
    }

    private static byte[] json(JsonNode n) {
        try {
            return Replies.JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What {@link #prefill} returns when the client left. */
    private static final JsonNode GONE = Replies.JSON.createObjectNode();

    /**
     * Has a prefill instance compute the prompt, trying each healthy one once: its answer's
     * {@code kv_transfer_params}, or null when none could (or the request itself is at fault: the
     * decode instance gives the client the same answer), or {@link #GONE} when the client left.
     */
    private JsonNode prefill(String path, byte[] prefillBody, Map<String, String> headers, long promptTokens,
            Consumer<Attempt> track) {
        List<Replica> tried = new ArrayList<>();
        while (true) {
            Replica r = choose(tried);
            if (r == null) {
                localFallback.incrementAndGet();
                Router.LOG.log(System.Logger.Level.WARNING, "no prefill instance could serve " + path
                        + "; the decode instance prefills it");
                return null;
            }
            if (!tried.isEmpty()) {
                prefillRetries.incrementAndGet();
            }
            tried.add(r);
            Attempt a = new Attempt(r, Thread.currentThread());
            track.accept(a);
            long tokens = promptTokens + 1;
            r.begin(a, tokens);
            boolean ok = false;
            try {
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(r.base().toString().replaceAll("/$", "")
                        + path)).timeout(config.requestTimeout()).POST(HttpRequest.BodyPublishers.ofByteArray(
                                prefillBody));
                headers.forEach((k, v) -> {
                    if (!k.equalsIgnoreCase("Accept")) {
                        b.header(k, v);
                    }
                });
                HttpResponse<InputStream> resp = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
                byte[] answer;
                try (InputStream in = resp.body()) {
                    answer = in.readAllBytes();
                }
                r.up();
                int code = resp.statusCode();
                if (code >= 400 && code < 500) {
                    ok = true; // the request is at fault: the decode instance gives the client the same answer
                    return null;
                }
                if (code != 200) {
                    r.down("answered " + code + " to a prefill", false);
                    continue;
                }
                JsonNode kv = Replies.JSON.readTree(answer).path("kv_transfer_params");
                if (!kv.hasNonNull("transfer_id") || !kv.hasNonNull("remote_host") || !kv.hasNonNull("remote_port")) {
                    r.down("a prefill answer without kv_transfer_params (is it serving with --kv-role prefill?)",
                            false);
                    continue;
                }
                ok = true;
                disaggregated.incrementAndGet();
                return kv;
            } catch (IOException | InterruptedException e) {
                Attempt.Cancel why = a.finish();
                if (why == Attempt.Cancel.CLIENT_GONE) {
                    return GONE;
                }
                if (why != Attempt.Cancel.STALLED) {
                    r.down(why != null ? why.why : Router.describe(e), e instanceof ConnectException);
                }
            } finally {
                a.finish();
                r.end(a, tokens, ok);
            }
        }
    }

    /**
     * The prompt alone: one token, not streamed, one sample, its KV kept for a decode instance (pulled)
     * or pushed as {@code push} says.
     */
    private static byte[] prefillBody(ObjectNode request, ObjectNode push) {
        ObjectNode p = request.deepCopy();
        p.put("max_tokens", 1);
        for (String drop : List.of("max_completion_tokens", "stream", "stream_options", "n", "best_of", "logprobs",
                "top_logprobs", "echo", "kv_transfer_params")) {
            p.remove(drop);
        }
        if (push != null) {
            p.set("kv_transfer_params", push);
        } else {
            p.putObject("kv_transfer_params").put("do_remote_decode", true);
        }
        return json(p);
    }

    private Replica choose(List<Replica> tried) {
        Replica best = null;
        for (Replica r : prefill) {
            if (r.healthy() && !tried.contains(r) && (best == null || r.outstandingTokens() < best.outstandingTokens())) {
                best = r;
            }
        }
        return best;
    }

    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("disaggregated", disaggregated.get());
        m.put("prefilled_locally_short_prompt", localShort.get());
        m.put("prefilled_locally_no_prefill_instance", localFallback.get());
        m.put("prefill_retries", prefillRetries.get());
        m.put("local_prefill_below_tokens", localPrefillBelowTokens);
        m.put("kv_transfer_mode", pushes() ? "push" : "pull");
        return m;
    }
}
