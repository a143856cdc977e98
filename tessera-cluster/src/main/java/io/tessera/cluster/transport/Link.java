package io.tessera.cluster.transport;

import io.netty.channel.Channel;
import java.net.SocketAddress;

/** One authenticated connection: frames written to it go to the other end, in order. */
public final class Link {

    private final Channel channel;
    private final Node node;
    private volatile int remoteId;

    Link(Channel channel, Node node, int remoteId) {
        this.channel = channel;
        this.node = node;
        this.remoteId = remoteId;
    }

    /** Sends a frame from this node (its source is this node's id). */
    public void send(MessageType type, long tag, byte[] payload) {
        channel.writeAndFlush(new Frame(type, node.id(), tag, payload));
    }

    /**
     * Sends a frame and waits until it is written to the socket: the sender's back-pressure, so a
     * large transfer never queues whole in memory. False when the connection failed.
     */
    public boolean sendAndWait(MessageType type, long tag, byte[] payload) throws InterruptedException {
        return channel.writeAndFlush(new Frame(type, node.id(), tag, payload)).await().isSuccess();
    }

    /** Sends an ERROR with this message, then closes the connection once it is written. */
    public void refuse(long tag, String message) {
        channel.writeAndFlush(new Frame(MessageType.ERROR, node.id(), tag,
                message.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    public int remoteId() {
        return remoteId;
    }

    /** Names the remote end (the coordinator knows its workers by index). */
    public void remoteIdHint(int id) {
        this.remoteId = id;
    }

    void remoteId(int id) {
        this.remoteId = id;
    }

    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    public void close() {
        channel.close();
    }

    Channel channel() {
        return channel;
    }

    @Override
    public String toString() {
        return "link to " + remoteId + " at " + channel.remoteAddress();
    }
}
