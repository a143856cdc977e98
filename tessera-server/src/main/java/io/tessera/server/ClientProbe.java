package io.tessera.server;

import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Finds out whether the client of a non-streaming request has gone while it is generating. Nothing
 * is written before the answer is ready, so a closed connection shows only on reading: while the
 * handler runs, Jetty does not read the connection (the request body has been read), so the
 * handler may try a non-blocking read itself. End of input means the client closed its socket.
 *
 * <p>Bytes that do arrive are a pipelined next request, which this read has consumed: the probe
 * stops and the connection is closed after the answer, so that the client sends it again.
 */
final class ClientProbe {

    private final EndPoint endPoint;
    private final ByteBuffer scratch = BufferUtil.allocate(256);
    private boolean pipelined;

    private ClientProbe(EndPoint endPoint) {
        this.endPoint = endPoint;
    }

    /** A probe of this request's connection; one that never reports a gone client outside Jetty. */
    static ClientProbe of(HttpServletRequest req) {
        Request base = Request.getBaseRequest(req);
        return new ClientProbe(base == null || base.getHttpChannel() == null ? null
                : base.getHttpChannel().getEndPoint());
    }

    /** Whether the client has closed the connection (called on the handler's thread only). */
    boolean gone() {
        if (endPoint == null || pipelined) {
            return false;
        }
        if (!endPoint.isOpen()) {
            return true;
        }
        try {
            BufferUtil.clear(scratch);
            int n = endPoint.fill(scratch);
            if (n > 0) {
                pipelined = true;
            }
            return n < 0;
        } catch (IOException e) {
            return true;
        }
    }

    /** Whether the connection must close after the answer (a pipelined request was consumed). */
    boolean mustClose() {
        return pipelined;
    }
}
