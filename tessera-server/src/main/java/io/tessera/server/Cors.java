package io.tessera.server;

import io.javalin.http.Context;
import java.util.List;

/**
 * Cross-origin access for browser pages on other origins ({@code --allowed-origins}). Off by
 * default: no CORS header is sent and every preflight is refused, so a page elsewhere can neither
 * read answers nor send the JSON requests (a {@code application/json} body needs a preflight).
 */
final class Cors {

    private final List<String> origins;

    Cors(List<String> origins) {
        this.origins = origins;
    }

    private boolean allowed(String origin) {
        return origin != null && (origins.contains("*") || origins.contains(origin));
    }

    static boolean isPreflight(Context ctx) {
        return "OPTIONS".equals(ctx.method().name()) && ctx.header("Origin") != null
                && ctx.header("Access-Control-Request-Method") != null;
    }

    /** Answers a preflight: 204 with the permissions for an allowed origin, else 403. */
    void preflight(Context ctx) {
        String origin = ctx.header("Origin");
        if (!allowed(origin)) {
            throw ApiException.forbidden("Cross-origin requests from '" + origin + "' are not allowed by this server"
                    + " (see --allowed-origins).", "origin_not_allowed");
        }
        decorate(ctx);
        ctx.header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        String asked = ctx.header("Access-Control-Request-Headers");
        // SDKs send headers of their own (x-stainless-*): allow what the page asks for
        ctx.header("Access-Control-Allow-Headers", asked != null && !asked.isBlank() ? asked
                : "Authorization, Content-Type");
        ctx.header("Access-Control-Max-Age", "600");
        ctx.status(204);
    }

    /** Lets an allowed origin read this answer. */
    void decorate(Context ctx) {
        String origin = ctx.header("Origin");
        if (allowed(origin)) {
            ctx.header("Access-Control-Allow-Origin", origin);
            ctx.header("Vary", "Origin");
        }
    }
}
