package io.tessera.server;

import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnection;

/**
 * Closes connections whose request is arriving too slowly (slow-loris): a request's line, headers
 * and body must arrive within the read timeout from its first byte. Jetty's idle timeout alone
 * does not bound this, since every trickled byte restarts it.
 *
 * <p>A daemon thread looks at every open connection a few times per timeout. It reads each parser's
 * state and start time without a lock: a stale read delays a close by one round, never closes a
 * connection whose request has been read (its parser is then at its end or back at the start).
 */
final class SlowRequestReaper implements AutoCloseable {

    private final Supplier<List<Connector>> connectors;
    private final long timeoutNanos;
    private final Runnable onClose;
    private final Thread thread;
    private volatile boolean closed;

    SlowRequestReaper(Supplier<List<Connector>> connectors, Duration timeout, Runnable onClose) {
        this.connectors = connectors;
        this.timeoutNanos = timeout.toNanos();
        this.onClose = onClose;
        long periodMs = Math.clamp(timeout.toMillis() / 4, 20, 1000);
        this.thread = Thread.ofPlatform().daemon().name("tessera-slow-request-reaper").unstarted(() -> {
            while (!closed) {
                try {
                    Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                    return;
                }
                sweep();
            }
        });
        thread.start();
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Connector c : connectors.get()) {
            for (EndPoint ep : c.getConnectedEndPoints()) {
                if (ep.getConnection() instanceof HttpConnection http && isSlow(http.getParser(), now)) {
                    ep.close();
                    onClose.run();
                }
            }
        }
    }

    /** Whether the parser is inside a request (past its first byte, before its end) for too long. */
    private boolean isSlow(HttpParser parser, long now) {
        HttpParser.State state = parser.getState();
        boolean reading = state != HttpParser.State.START && state.ordinal() < HttpParser.State.END.ordinal();
        return reading && now - parser.getBeginNanoTime() > timeoutNanos;
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
