package io.tessera.router;

import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;

/**
 * Netty's request decoder, except that a message with both {@code Transfer-Encoding: chunked} and
 * {@code Content-Length} is a decoding failure instead of having its Content-Length dropped: two
 * framings in one message are how requests are smuggled past a proxy, and Jetty (the replicas'
 * server) refuses them too.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {

    StrictRequestDecoder() {
        super(new HttpDecoderConfig());
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new IllegalArgumentException("a request may not have both Transfer-Encoding and Content-Length");
    }
}
