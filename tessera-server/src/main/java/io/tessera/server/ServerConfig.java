package io.tessera.server;

import java.time.Duration;

/**
 * How the HTTP server runs.
 *
 * @param host address to bind (127.0.0.1 by default: only this machine)
 * @param port TCP port; 0 picks a free one
 * @param apiKey when non-null, {@code /v1/*}, {@code /tokenize} and {@code /detokenize} need
 *     {@code Authorization: Bearer <key>}
 * @param maxPendingRequests engine requests admitted at once (running plus waiting); more get 429
 * @param maxBodyBytes largest request body; larger gets 413
 * @param shutdownGrace how long in-flight requests may run on at shutdown before they are aborted
 */
public record ServerConfig(String host, int port, String apiKey, int maxPendingRequests, long maxBodyBytes,
                           Duration shutdownGrace) {

    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;

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
        if (apiKey != null && apiKey.isEmpty()) {
            apiKey = null;
        }
    }

    /** Loopback, a free port, no key, 256 pending requests, 4 MiB bodies, 10 s grace. */
    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 0, null, 256, DEFAULT_MAX_BODY_BYTES, Duration.ofSeconds(10));
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, apiKey, maxPendingRequests, maxBodyBytes, shutdownGrace);
    }

    public ServerConfig withApiKey(String k) {
        return new ServerConfig(host, port, k, maxPendingRequests, maxBodyBytes, shutdownGrace);
    }

    public ServerConfig withMaxPendingRequests(int n) {
        return new ServerConfig(host, port, apiKey, n, maxBodyBytes, shutdownGrace);
    }

    public ServerConfig withMaxBodyBytes(long n) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, n, shutdownGrace);
    }

    public ServerConfig withShutdownGrace(Duration d) {
        return new ServerConfig(host, port, apiKey, maxPendingRequests, maxBodyBytes, d);
    }
}
