package io.tessera.router;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for `tessera serve` in router tests (the router only needs /health and the OpenAI
 * routes): answers /v1/completions after {@code delayMillis} with JSON naming itself, or as an SSE
 * stream when the body asks for {@code "stream": true}: five events, or {@code "events": N} of them
 * {@code "interval_ms"} apart. {@code GET /fake/stats} tells how many requests other than health
 * checks and itself arrived; other routes answer 404, with
 * {@code Access-Control-Allow-Origin} echoing a request's {@code Origin}. Run as a process with
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
        AtomicInteger requests = new AtomicInteger();
        s.createContext("/health", ex -> reply(ex, 200, "application/json", "{\"status\":\"ok\"}"));
        s.createContext("/fake/stats", ex -> reply(ex, 200, "application/json", "{\"requests\":" + requests.get()
                + "}"));
        s.createContext("/", ex -> {
            requests.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            String origin = ex.getRequestHeaders().getFirst("Origin");
            if (origin != null) {
                ex.getResponseHeaders().set("Access-Control-Allow-Origin", origin);
            }
            reply(ex, 404, "application/json", "{\"error\":{\"message\":\"no such route\"}}");
        });
        s.createContext("/v1/completions", ex -> {
            requests.incrementAndGet();
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
            int events = number(body, "events", 5);
            long interval = number(body, "interval_ms", (int) (delayMillis / 5));
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < events; i++) {
                    out.write(("data: {\"replica\":\"" + name + "\",\"i\":" + i + "}\n\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    sleep(interval);
                }
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            }
            return;
        }
        reply(ex, 200, "application/json", "{\"replica\":\"" + name + "\",\"choices\":[{\"text\":\"ok\"}],"
                + "\"usage\":{\"completion_tokens\":16}}");
    }

    /** The integer after {@code "key":} in a JSON body, or {@code dflt}. */
    private static int number(String body, String key, int dflt) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*(\\d+)").matcher(body);
        return m.find() ? Integer.parseInt(m.group(1)) : dflt;
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

    /** Starts a stand-in replica as its own process; its port is put in {@code port[0]}. */
    static Process process(String name, long delayMillis, int[] port) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx64m", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), FakeReplica.class.getName(), name, Long.toString(delayMillis))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (line == null || !line.startsWith("port ")) {
            p.destroyForcibly();
            throw new IOException("the stand-in replica " + name + " did not start: " + line);
        }
        port[0] = Integer.parseInt(line.substring("port ".length()).trim());
        return p;
    }

    public static void main(String[] args) throws Exception {
        HttpServer s = start(args[0], Long.parseLong(args[1]),
                args.length > 2 ? Integer.parseInt(args[2]) : Integer.MAX_VALUE);
        System.out.println("port " + s.getAddress().getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
