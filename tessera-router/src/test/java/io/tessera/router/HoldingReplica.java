package io.tessera.router;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A replica that never finishes a request: it answers /health, and holds every other request open
 * (a streamed one after sending its SSE head and one event, so the stream has started) until the
 * peer closes the connection, which it counts. It shows whether the router cancels its upstream
 * request when its client goes away.
 */
final class HoldingReplica implements AutoCloseable {

    private final ServerSocket server;
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger released = new AtomicInteger();

    HoldingReplica() throws IOException {
        server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Requests being held now or before. */
    int held() {
        return held.get();
    }

    /** Held requests whose connection the peer closed. */
    int released() {
        return released.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                int length = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(15).trim());
                    }
                }
                String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
                if (head.startsWith("GET /health ")) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                            .getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                held.incrementAndGet();
                if (body.contains("\"stream\":true")) {
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
                            + "data: {\"i\":0}\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                holdUntilClosed(in);
                return;
            }
        } catch (IOException e) {
            // a health check's connection went away
        }
    }

    private void holdUntilClosed(InputStream in) {
        try {
            // a closed connection ends this read; nothing else does (the router sends nothing more)
            while (in.read() >= 0) {
                // discard
            }
        } catch (IOException e) {
            // reset by the peer: closed as well
        }
        released.incrementAndGet();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        for (int c; (c = in.read()) >= 0; ) {
            b.write(c);
            matched = (c == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (c == '\r' ? 1 : 0);
            if (matched == 4) {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
