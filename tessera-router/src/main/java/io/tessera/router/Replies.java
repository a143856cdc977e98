package io.tessera.router;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The router's own answers: OpenAI-style JSON error objects, and whole responses written to a client. */
final class Replies {

    static final ObjectMapper JSON = new ObjectMapper();

    private Replies() {
    }

    /** {@code {"error": {"message", "type", "param": null, "code": null}}}. */
    static byte[] error(String message, String type) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", message);
        e.put("type", type);
        e.putNull("param");
        e.putNull("code");
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    /**
     * A client's mistake, answered and the connection closed: what follows it on the wire is not
     * trusted, so it is discarded unread. The close lingers (output shut, input drained for at most
     * {@link #LINGER}) so that a client still sending its body reads the answer instead of a reset.
     */
    static void refuse(Channel ch, HttpResponseStatus status, String message) {
        refuse(ch, refusal(status, message));
    }

    /** The answer to a client's mistake, for {@link #refuse(Channel, FullHttpResponse)}. */
    static FullHttpResponse refusal(HttpResponseStatus status, String message) {
        return response(status, error(message, "invalid_request_error"), "application/json", false);
    }

    static void refuse(Channel ch, FullHttpResponse r) {
        ch.pipeline().addFirst(new Discard());
        ch.config().setAutoRead(true);
        ch.writeAndFlush(r).addListener(f -> {
            if (f.isSuccess() && ch instanceof SocketChannel sc) {
                sc.shutdownOutput();
                ch.eventLoop().schedule(() -> ch.close(), LINGER.toMillis(), TimeUnit.MILLISECONDS);
            } else {
                ch.close();
            }
        });
    }

    private static final Duration LINGER = Duration.ofSeconds(2);

    /** Drops everything the client still sends. */
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    static ChannelFuture send(Channel ch, HttpResponseStatus status, byte[] body, String type, boolean keepAlive) {
        return send(ch, response(status, body, type, keepAlive), keepAlive);
    }

    static ChannelFuture send(Channel ch, FullHttpResponse response, boolean keepAlive) {
        return ch.writeAndFlush(response).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE
                : ChannelFutureListener.CLOSE);
    }

    static FullHttpResponse response(HttpResponseStatus status, byte[] body, String type, boolean keepAlive) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        r.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
        return r;
    }
}
