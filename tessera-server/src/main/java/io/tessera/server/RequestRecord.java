package io.tessera.server;

import io.javalin.http.Context;

/**
 * What the access log says of one request beyond its method, path and status, filled in by the
 * handler that serves it: the id of its response, its tokens and its time to first token.
 */
final class RequestRecord {

    private static final String KEY = "tessera.request-record";

    final long startNanos;
    volatile String id;
    volatile int promptTokens = -1;
    volatile int completionTokens = -1;
    volatile long firstTokenNanos;

    private RequestRecord(long startNanos) {
        this.startNanos = startNanos;
    }

    /** Starts the record of a request (first thing on arrival). */
    static RequestRecord start(Context ctx) {
        RequestRecord r = new RequestRecord(System.nanoTime());
        ctx.attribute(KEY, r);
        return r;
    }

    /** The request's record; a detached one when it has none (a context not started by the server). */
    static RequestRecord of(Context ctx) {
        RequestRecord r = ctx.attribute(KEY);
        return r != null ? r : new RequestRecord(System.nanoTime());
    }

    void tokens(int prompt, int completion) {
        promptTokens = prompt;
        completionTokens = completion;
    }
}
