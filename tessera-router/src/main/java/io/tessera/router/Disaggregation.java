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

    Disaggregation(List<Replica> prefill, long localPrefillBelowTokens, HttpClient client, RouterConfig config) {
        if (localPrefillBelowTokens < 0) {
            throw new IllegalArgumentException("--local-prefill-below must not be negative, got "
                    + localPrefillBelowTokens);
        }
        this.prefill = List.copyOf(prefill);
        this.localPrefillBelowTokens = localPrefillBelowTokens;
        this.client = client;
        this.config = config;
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
        if (!method.equals("POST") || !GENERATION.contains(path)) {
            return body;
        }
        ObjectNode request;
        try {
            JsonNode j = Replies.JSON.readTree(body);
            if (j == null || !j.isObject()) {
                return body; // the decode instance answers the client's mistake
            }
            request = (ObjectNode) j;
        } catch (IOException e) {
            return body;
        }
        // only the router speaks of KV transfers to its instances
        if (request.remove("kv_transfer_params") != null) {
            try {
                body = Replies.JSON.writeValueAsBytes(request);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        if (promptTokens < localPrefillBelowTokens) {
            localShort.incrementAndGet();
            return body;
        }
        byte[] prefillBody = prefillBody(request);
        List<Replica> tried = new ArrayList<>();
        while (true) {
            Replica r = choose(tried);
            if (r == null) {
                localFallback.incrementAndGet();
                Router.LOG.log(System.Logger.Level.WARNING, "no prefill instance could serve " + path
                        + "; the decode instance prefills it");
                return body;
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
                    return body;
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
                ObjectNode decode = request.deepCopy();
                ObjectNode params = decode.putObject("kv_transfer_params");
                params.put("do_remote_prefill", true);
                params.set("transfer_id", kv.get("transfer_id"));
                params.set("remote_host", kv.get("remote_host"));
                params.set("remote_port", kv.get("remote_port"));
                return Replies.JSON.writeValueAsBytes(decode);
            } catch (IOException | InterruptedException e) {
                Attempt.Cancel why = a.finish();
                if (why == Attempt.Cancel.CLIENT_GONE) {
                    return null;
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

    /** The prompt alone: one token, not streamed, one sample, its KV kept for a decode instance. */
    private static byte[] prefillBody(ObjectNode request) {
        ObjectNode p = request.deepCopy();
        p.put("max_tokens", 1);
        for (String drop : List.of("max_completion_tokens", "stream", "stream_options", "n", "best_of", "logprobs",
                "top_logprobs", "echo", "kv_transfer_params")) {
            p.remove(drop);
        }
        p.putObject("kv_transfer_params").put("do_remote_decode", true);
        try {
            return Replies.JSON.writeValueAsBytes(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
        return m;
    }
}
