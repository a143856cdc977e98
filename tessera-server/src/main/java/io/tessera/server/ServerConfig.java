package io.tessera.server;

import java.time.Duration;
import java.util.List;

/**
 * How the HTTP server runs.
 *
 * @param host address to bind (127.0.0.1 by default: only this machine)
 * @param port TCP port; 0 picks a free one
 * @param apiKey when non-null, {@code /v1/*}, {@code /tokenize} and {@code /detokenize} need
 *     {@code Authorization: Bearer <key>}. Without a key, a server bound to a loopback address
 *     answers only requests whose {@code Host} is a loopback name (no DNS rebinding)
 * @param maxPendingRequests engine sequences admitted at once (running plus waiting), a request
 *     counting its prompts × {@code n}; a request over the whole limit gets 400, over what is free
 *     now 429
 * @param maxBodyBytes largest request body; larger gets 413
 * @param shutdownGrace how long in-flight requests may run on at shutdown before they are aborted;
 *     new requests get 503 meanwhile
 * @param readTimeout how long a request's line, headers and body may take to arrive, from its first
 *     byte; a connection that is slower is closed (slow clients must not hold connections)
 * @param allowedOrigins browser origins allowed to call the API cross-origin (CORS), {@code "*"}
 *     for any; empty for none (no CORS headers, preflights refused)
 * @param maxPrompts prompts one {@code /v1/completions} request, or inputs one {@code /v1/embeddings}
 *     request, may carry
 */
public record ServerConfig(String host, int port, String apiKey, int maxPendingRequests, long maxBodyBytes,
                           Duration shutdownGrace, Duration readTimeout, List<String> allowedOrigins,
                           int maxPrompts) {

    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(20);
    public static final int DEFAULT_MAX_PROMPTS = 64;

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        if (maxPendingRequests < 1) {
            throw new IllegalArgumentException("the pending request limit must be at least 1, got " + maxPendingRequests);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("the body size limit must be at least 1024 bytes, got " + maxBodyBytes);
        }
        if (readTimeout == null || readTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("the request read timeout must be positive, got " + readTimeout);
        }
        if (maxPrompts < 1) {
            throw new IllegalArgumentException("the prompts per request must be at least 1, got " + maxPrompts);
        }
        allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
        if (apiKey != null && apiKey.isEmpty()) {
            apiKey = null;
        }
    }

    public ServerConfig(String host, int port, String apiKey, int maxPendingRequests, long maxBodyBytes,
                        Duration shutdownGrace) {
        this(host, port, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, DEFAULT_READ_TIMEOUT, List.of(),
                DEFAULT_MAX_PROMPTS);
    }

    /**
     * Loopback, a free port, no key, 256 pending sequences, 4 MiB bodies, 10 s grace, 20 s to read
     * a request, no CORS, 64 prompts per request.
     */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 0, null, 256, DEFAULT_MAX_BODY_BYTES, Duration.ofSeconds(10));
    }

    public ServerConfig withHost(String h) {
        return new ServerConfig(h, port, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, readTimeout,
                allowedOrigins, maxPrompts);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, readTimeout,
                allowedOrigins, maxPrompts);
    }

    public ServerConfig withApiKey(String k) {
        return new ServerConfig(host, port, k, maxPendingRequests, maxBodyBytes, shutdownGrace, readTimeout,
                allowedOrigins, maxPrompts);
    }

    public ServerConfig withMaxPendingRequests(int n) {
        return new ServerConfig(host, port, apiKey, n, maxBodyBytes, shutdownGrace, readTimeout, allowedOrigins,
                maxPrompts);
    }

    public ServerConfig withMaxBodyBytes(long n) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, n, shutdownGrace, readTimeout, allowedOrigins,
                maxPrompts);
    }

    public ServerConfig withShutdownGrace(Duration d) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, maxBodyBytes, d, readTimeout, allowedOrigins,
                maxPrompts);
    }

    public ServerConfig withReadTimeout(Duration d) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, d, allowedOrigins,
                maxPrompts);
    }

    public ServerConfig withAllowedOrigins(List<String> origins) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, readTimeout,
                origins, maxPrompts);
    }

    public ServerConfig withMaxPrompts(int n) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace, readTimeout,
                allowedOrigins, n);
    }
}
