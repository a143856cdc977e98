package io.tessera.router;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how long a client connection may hold the router without a request in progress: a request
 * must arrive whole (head and body) within the read timeout of its first byte, else 408 and the
 * connection is closed (a client trickling bytes holds nothing for long); a connection idle between
 * requests is closed after the idle timeout. While a request is being served no deadline runs here
 * (the replica-side timeouts bound that). Runs on the channel's event loop only.
 */
final class ConnectionDeadlines extends ChannelInboundHandlerAdapter {

    private enum State { IDLE, READING, BUSY }

    private final Duration readTimeout;
    private final Duration idleTimeout;
    private ChannelHandlerContext ctx;
    private State state = State.IDLE;
    private ScheduledFuture<?> timer;

    ConnectionDeadlines(Duration readTimeout, Duration idleTimeout) {
        this.readTimeout = readTimeout;
        this.idleTimeout = idleTimeout;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        enter(State.IDLE);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (state == State.IDLE && msg instanceof ByteBuf b && b.isReadable()) {
            enter(State.READING);
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimer();
        super.channelInactive(ctx);
    }

    /** A whole request has arrived and is being served. */
    void requestComplete() {
        enter(State.BUSY);
    }

    /** The response is written; the connection waits for the next request. */
    void responseComplete() {
        enter(State.IDLE);
    }

    private void enter(State s) {
        cancelTimer();
        state = s;
        if (s == State.IDLE) {
            timer = ctx.executor().schedule(() -> ctx.close(), idleTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } else if (s == State.READING) {
            timer = ctx.executor().schedule(this::readTimedOut, readTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void readTimedOut() {
        if (state != State.READING) {
            return;
        }
        Router.LOG.log(System.Logger.Level.INFO, "closed a connection from " + ctx.channel().remoteAddress()
                + ": no whole request within " + readTimeout.toSeconds() + " s");
        Replies.refuse(ctx.channel(), HttpResponseStatus.REQUEST_TIMEOUT, "The request did not arrive whole within "
                + readTimeout.toSeconds() + " s.");
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
