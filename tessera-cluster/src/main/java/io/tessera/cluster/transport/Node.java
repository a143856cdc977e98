package io.tessera.cluster.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.MessageToByteEncoder;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A cluster endpoint on Netty: listens for connections and opens them, authenticates every
 * connection with the shared token (the first frame must be a HELLO carrying it; anything else, or
 * a wrong token, gets an ERROR and the connection is closed), and hands every later frame to one
 * handler with the {@link Link} it came on. Counts bytes per message type.
 */
public final class Node implements AutoCloseable {

    /** Largest frame accepted: 1 GiB. */
    public static final int MAX_FRAME = 1 << 30;

    private final byte[] token;
    private volatile int id;
    private final BiConsumer<Link, Frame> handler;
    private final Consumer<Link> onClose;
    private final EventLoopGroup group;
    private final WireCounters counters = new WireCounters();
    private final Tls tls;
    private Channel server;

    /**
     * @param id this node's id, the source of its frames (-1 for a coordinator)
     * @param handler receives every authenticated frame (on a Netty I/O thread: must not block)
     * @param onClose called when an authenticated link closes
     */
    public Node(String token, int id, BiConsumer<Link, Frame> handler, Consumer<Link> onClose) {
        this(token, id, handler, onClose, Tls.fromEnvironment());
    }

    /** @param tls TLS for every connection of this node, or null for plain TCP */
    public Node(String token, int id, BiConsumer<Link, Frame> handler, Consumer<Link> onClose, Tls tls) {
        this.tls = tls;
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.id = id;
        this.handler = handler;
        this.onClose = onClose;
        this.group = new NioEventLoopGroup(1, r -> {
            Thread t = new Thread(r, "tessera-net-" + id);
            t.setDaemon(true);
            return t;
        });
    }

    /** Sets this node's id (a worker learns its id from its plan). */
    public void id(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public WireCounters counters() {
        return counters;
    }

    /** Starts listening; port 0 picks a free port. Returns the bound address. */
    public InetSocketAddress listen(String host, int port) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.server().newHandler(ch.alloc()));
                        }
                        pipeline(ch, new Inbound(true, null));
                    }
                }).bind(host, port).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    /** Connects and authenticates; fails with a clear message on refusal, a bad token or a timeout. */
    public Link connect(InetSocketAddress address, Duration timeout) throws java.io.IOException {
        CompletableFuture<Link> ready = new CompletableFuture<>();
        Inbound inbound = new Inbound(false, ready);
        try {
            Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, timeout.toMillis()))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (tls != null) {
                                ch.pipeline().addLast(tls.client().newHandler(ch.alloc(), address.getHostString(),
                                        address.getPort()));
                            }
                            pipeline(ch, inbound);
                        }
                    }).connect(address).sync().channel();
            ch.writeAndFlush(new Frame(MessageType.HELLO, id, 0, token));
            return ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.IOException("interrupted while connecting to " + address, e);
        } catch (ExecutionException e) {
            throw new java.io.IOException("cannot connect to " + address + ": " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new java.io.IOException("no answer from " + address + " within " + timeout.toMillis() + " ms");
        } catch (RuntimeException e) {
            throw new java.io.IOException("cannot connect to " + address + ": " + e.getMessage(), e);
        }
    }

    private void pipeline(SocketChannel ch, Inbound inbound) {
        ch.pipeline().addLast(new Decoder(), new Encoder(), inbound);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private final class Decoder extends LengthFieldBasedFrameDecoder {
        Decoder() {
            super(ByteOrder.LITTLE_ENDIAN, MAX_FRAME, 0, 4, 0, 4, true);
        }

        @Override
        protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
            ByteBuf buf = (ByteBuf) super.decode(ctx, in);
            if (buf == null) {
                return null;
            }
            try {
                MessageType type = MessageType.of(buf.readUnsignedByte());
                int source = buf.readShortLE();
                long tag = buf.readLongLE();
                byte[] payload = new byte[buf.readableBytes()];
                buf.readBytes(payload);
                counters.received(type, Frame.HEADER_BYTES + payload.length);
                return new Frame(type, source, tag, payload);
            } finally {
                buf.release();
            }
        }
    }

    private final class Encoder extends MessageToByteEncoder<Frame> {
        @Override
        protected void encode(ChannelHandlerContext ctx, Frame f, ByteBuf out) {
            out.writeIntLE(Frame.HEADER_BYTES - 4 + f.payload().length);
            out.writeByte(f.type().code());
            out.writeShortLE(f.source());
            out.writeLongLE(f.tag());
            out.writeBytes(f.payload());
            counters.sent(f.type(), f.wireBytes());
        }
    }

    private final class Inbound extends SimpleChannelInboundHandler<Frame> {
        private final boolean serverSide;
        private final CompletableFuture<Link> ready;
        private Link link;

        Inbound(boolean serverSide, CompletableFuture<Link> ready) {
            this.serverSide = serverSide;
            this.ready = ready;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
            if (link == null) {
                if (serverSide) {
                    if (f.type() != MessageType.HELLO || !MessageDigest.isEqual(f.payload(), token)) {
                        ctx.writeAndFlush(new Frame(MessageType.ERROR, id, 0,
                                "authentication failed: wrong or missing cluster token".getBytes(StandardCharsets.UTF_8)))
                                .addListener(x -> ctx.close());
                        return;
                    }
                    link = new Link(ctx.channel(), Node.this, f.source());
                    ctx.writeAndFlush(new Frame(MessageType.HELLO_OK, id, 0, new byte[0]));
                    return;
                }
                if (f.type() == MessageType.HELLO_OK) {
                    link = new Link(ctx.channel(), Node.this, f.source());
                    ready.complete(link);
                } else {
                    String msg = f.type() == MessageType.ERROR ? new String(f.payload(), StandardCharsets.UTF_8)
                            : "unexpected " + f.type() + " before the handshake";
                    ready.completeExceptionally(new java.io.IOException(msg));
                    ctx.close();
                }
                return;
            }
            handler.accept(link, f);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ready != null && !ready.isDone()) {
                ready.completeExceptionally(new java.io.IOException("connection closed during the handshake"));
            }
            if (link != null) {
                onClose.accept(link);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ready != null && !ready.isDone()) {
                ready.completeExceptionally(cause);
            }
            ctx.close();
        }
    }
}
