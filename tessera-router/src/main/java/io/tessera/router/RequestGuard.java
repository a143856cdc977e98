package io.tessera.router;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.Set;

/**
 * Stands between the HTTP decoder and everything else: a request the router will not forward is
 * answered here (an OpenAI-style JSON error), logged, and its connection closed, since nothing after
 * a malformed message on the wire can be trusted. Refused: what the decoder could not parse (never
 * passed on as Netty's placeholder {@code GET /bad-request}), request targets that are not plain
 * paths ({@link RequestTarget}), ambiguous framing (Transfer-Encoding other than a single
 * {@code chunked}, or with Content-Length, or on HTTP/1.0; more than one or a non-numeric
 * Content-Length), and methods the replicas do not serve. An accepted request goes on with its
 * target normalised.
 */
final class RequestGuard extends ChannelInboundHandlerAdapter {

    static final Set<HttpMethod> METHODS = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT,
            HttpMethod.PATCH, HttpMethod.DELETE, HttpMethod.OPTIONS);
    private static final String ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

    private boolean refused;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            DecoderResult r = o.decoderResult();
            Throwable cause = r.cause();
            HttpResponseStatus status = cause instanceof TooLongHttpLineException
                    ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
            String what = cause instanceof TooLongFrameException ? "The request line or headers are too long"
                    : "The request is not valid HTTP/1.1";
            refuse(ctx, status, what + ": " + RequestTarget.quote(String.valueOf(cause.getMessage())));
            return;
        }
        if (msg instanceof HttpRequest req) {
            Refusal refusal = check(req);
            if (refusal != null) {
                ReferenceCountUtil.release(msg);
                refuse(ctx, refusal.status(), refusal.message());
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private record Refusal(HttpResponseStatus status, String message) {
    }

    /** Why a request's head is refused, or null; the target is normalised when it is accepted. */
    private static Refusal check(HttpRequest req) {
        RequestTarget target;
        try {
            target = RequestTarget.parse(req.uri());
        } catch (RequestTarget.Invalid e) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
        if (!METHODS.contains(req.method())) {
            return new Refusal(HttpResponseStatus.METHOD_NOT_ALLOWED, "The method "
                    + RequestTarget.quote(req.method().name()) + " is not supported by the router.");
        }
        HttpVersion v = req.protocolVersion();
        if (!v.equals(HttpVersion.HTTP_1_1) && !v.equals(HttpVersion.HTTP_1_0)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "Only HTTP/1.0 and HTTP/1.1 are served, got "
                    + RequestTarget.quote(req.protocolVersion().text()));
        }
        String framing = framingProblem(req);
        if (framing != null) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, framing);
        }
        req.setUri(target.originForm());
        return null;
    }

    private static String framingProblem(HttpRequest req) {
        HttpHeaders h = req.headers();
        List<String> te = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        List<String> cl = h.getAll(HttpHeaderNames.CONTENT_LENGTH);
        if (!te.isEmpty()) {
            if (!cl.isEmpty()) {
                return "A request may not have both Transfer-Encoding and Content-Length.";
            }
            if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                return "Transfer-Encoding is not allowed in an HTTP/1.0 request.";
            }
            if (te.size() != 1 || !te.get(0).trim().equalsIgnoreCase("chunked")) {
                return "Transfer-Encoding must be exactly 'chunked', got " + RequestTarget.quote(String.join(", ", te));
            }
        }
        if (cl.size() > 1) {
            return "A request may have only one Content-Length.";
        }
        if (cl.size() == 1 && !cl.get(0).matches("[0-9]{1,18}")) {
            return "Content-Length must be a decimal number, got " + RequestTarget.quote(cl.get(0));
        }
        return null;
    }

    private void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
        refused = true;
        Router.LOG.log(System.Logger.Level.INFO, "refused a request from " + ctx.channel().remoteAddress() + " ("
                + status.code() + "): " + message);
        FullHttpResponse r = Replies.refusal(status, message);
        if (status.equals(HttpResponseStatus.METHOD_NOT_ALLOWED)) {
            r.headers().set(HttpHeaderNames.ALLOW, ALLOW);
        }
        Replies.refuse(ctx.channel(), r);
    }
}
