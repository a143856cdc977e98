package io.tessera.router;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Collects a request's body up to the replicas' size limit (the router needs it whole to retry it on
 * another replica); a body declared or found larger is answered 413 with a JSON error before
 * anything is forwarded, and the connection is closed rather than the rest of the body read.
 */
final class BodyLimit extends HttpObjectAggregator {

    private final long maxBodyBytes;

    BodyLimit(long maxBodyBytes) {
        super((int) Math.min(Integer.MAX_VALUE, maxBodyBytes));
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        Router.LOG.log(System.Logger.Level.INFO, "refused a request body over " + maxBodyBytes + " bytes from "
                + ctx.channel().remoteAddress());
        Replies.refuse(ctx.channel(), HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "The request body is over this router's limit of " + maxBodyBytes + " bytes.");
    }
}
