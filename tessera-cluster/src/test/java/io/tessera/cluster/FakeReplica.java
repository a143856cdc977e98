package io.tessera.cluster;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A stand-in for `tessera serve` in router tests (the router only needs /health and the OpenAI
 * routes): answers /v1/completions after {@code delayMillis} with JSON naming itself, or as an SSE
 * stream of five events when the body asks for {@code "stream": true}. Run as a process with
 * {@code main(name, delayMillis [, capacity])}: prints "port N" once listening.
 */
public final class FakeReplica {

    private FakeReplica() {
    }

    public static HttpServer start(String name, long delayMillis) throws IOException {
        return start(name, delayMillis, Integer.MAX_VALUE);
    }

    /** A replica that serves at most {@code capacity} requests at once (the others wait), like a full engine. */
    public static HttpServer start(String name, long delayMillis, int capacity) throws IOException {
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(capacity, true);
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        s.createContext("/health", ex -> reply(ex, 200, "application/json", "{\"status\":\"ok\"}"));
        s.createContext("/v1/completions", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            slots.acquireUninterruptibly();
            try {
                serve(ex, name, body, delayMillis);
            } finally {
                slots.release();
            }
        });
        s.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        s.start();
        return s;
    }

    private static void serve(HttpExchange ex, String name, String body, long delayMillis) throws IOException {
        sleep(delayMillis);
        if (body.contains("\"stream\":true")) {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < 5; i++) {
                    out.write(("data: {\"replica\":\"" + name + "\",\"i\":" + i + "}\n\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    sleep(delayMillis / 5);
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            }
            return;
        }
        reply(ex, 200, "application/json", "{\"replica\":\"" + name + "\",\"choices\":[{\"text\":\"ok\"}],"
                + "\"usage\":{\"completion_tokens\":16}}");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void reply(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    public static void main(String[] args) throws Exception {
        HttpServer s = start(args[0], Long.parseLong(args[1]),
                args.length > 2 ? Integer.parseInt(args[2]) : Integer.MAX_VALUE);
        System.out.println("port " + s.getAddress().getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
