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
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.codec.MessageToByteEncoder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;

/**
 * A cluster endpoint on Netty: listens for connections and opens them, authenticates every
 * connection with the shared token (the first frame must be a HELLO carrying it; anything else, or
 * a wrong token, gets an ERROR and the connection is closed), and hands every later frame to one
 * handler with the {@link Link} it came on. Counts bytes per message type.
 *
 * <p>Before authentication a connection may send only one small HELLO ({@link
 * HandshakePolicy#MAX_HELLO_BYTES}) within {@link HandshakePolicy#timeout()}; a longer frame, a
 * wrong token, silence or a close before that is a failed handshake: the connection is closed, the
 * failure logged and counted against the remote address ({@link HandshakeGuard}). After
 * authentication frames may be as large as {@link #maxFrame(int)} allows, which the owner derives
 * from what its plan can need.
 */
public final class Node implements AutoCloseable {

    /** Largest authenticated frame until the owner sets a limit: plans, reports, errors. */
    public static final int CONTROL_FRAME_BYTES = 1 << 20;

    private final byte[] token;
    private volatile int id;
    private final BiConsumer<Link, Frame> handler;
    private final Consumer<Link> onClose;
    private final EventLoopGroup group;
    private final WireCounters counters = new WireCounters();
    private final Tls tls;
    private final HandshakePolicy policy;
    private final HandshakeGuard guard;
    private volatile int maxFrame = CONTROL_FRAME_BYTES;
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
        this(token, id, handler, onClose, tls, HandshakePolicy.DEFAULT);
    }

    /** @param policy what connections that have not authenticated yet may do */
    public Node(String token, int id, BiConsumer<Link, Frame> handler, Consumer<Link> onClose, Tls tls,
            HandshakePolicy policy) {
        this.tls = tls;
        this.token = ClusterToken.require(token, "the cluster configuration").getBytes(StandardCharsets.UTF_8);
        this.id = id;
        this.handler = handler;
        this.onClose = onClose;
        this.policy = policy;
        this.guard = new HandshakeGuard(policy, System::nanoTime);
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

    /**
     * Sets the largest frame (header included) an authenticated connection may send; a larger one
     * closes the connection. Applies to frames not yet started.
     */
    public void maxFrame(int bytes) {
        if (bytes < HandshakePolicy.MAX_HELLO_BYTES) {
            throw new IllegalArgumentException("a frame limit of " + bytes + " bytes is too small");
        }
        this.maxFrame = bytes;
    }

    public int maxFrame() {
        return maxFrame;
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
                        if (!guard.admits(ch.remoteAddress().getAddress())) {
                            // locked out after failed handshakes: logged when the lockout began
                            ch.close();
                            return;
                        }
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
        Channel ch = null;
        try {
            ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
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
            closeQuietly(ch);
            throw new java.io.IOException("interrupted while connecting to " + address, e);
        } catch (ExecutionException e) {
            closeQuietly(ch);
            throw new java.io.IOException("cannot connect to " + address + ": " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            closeQuietly(ch);
            throw new java.io.IOException("no answer from " + address + " within " + timeout.toMillis() + " ms");
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw new java.io.IOException("cannot connect to " + address + ": " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(Channel ch) {
        if (ch != null) {
            ch.close();
        }
    }

    private void pipeline(SocketChannel ch, Inbound inbound) {
        ch.pipeline().addLast(new FrameDecoder(inbound::frameLimit, counters), new Encoder(), inbound);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
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
        private volatile Link link;
        /** Why the handshake of this (server-side) connection failed; set once. */
        private String refusal;

        Inbound(boolean serverSide, CompletableFuture<Link> ready) {
            this.serverSide = serverSide;
            this.ready = ready;
        }

        int frameLimit() {
            return link == null ? HandshakePolicy.MAX_HELLO_BYTES : maxFrame;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            if (serverSide) {
                ctx.executor().schedule(() -> {
                    if (link == null && ctx.channel().isActive()) {
                        refuse(ctx, "no HELLO within " + policy.timeout().toMillis() + " ms");
                    }
                }, policy.timeout().toMillis(), TimeUnit.MILLISECONDS);
            }
            super.channelActive(ctx);
        }

        /** Ends a connection that failed to authenticate (once), counting it against its address. */
        private void refuse(ChannelHandlerContext ctx, String why) {
            if (refusal == null) {
                refusal = why;
                ctx.close();
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
            if (link == null) {
                if (serverSide) {
                    if (f.type() != MessageType.HELLO || !MessageDigest.isEqual(f.payload(), token)) {
                        if (refusal == null) {
                            refusal = f.type() == MessageType.HELLO ? "wrong cluster token"
                                    : f.type() + " before the handshake";
                            ctx.writeAndFlush(new Frame(MessageType.ERROR, id, 0,
                                    "authentication failed: wrong or missing cluster token"
                                            .getBytes(StandardCharsets.UTF_8)))
                                    .addListener(x -> ctx.close());
                        }
                        return;
                    }
                    link = new Link(ctx.channel(), Node.this, f.source());
                    guard.succeeded(remoteIp(ctx));
                    ClusterLog.log("authenticated " + (f.source() < 0 ? "a coordinator" : "worker " + f.source())
                            + " from " + ctx.channel().remoteAddress());
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
            } else if (serverSide) {
                failedHandshake(ctx, refusal != null ? refusal : "closed by the client before authenticating");
            }
        }

        private void failedHandshake(ChannelHandlerContext ctx, String why) {
            InetAddress ip = remoteIp(ctx);
            long lockout = guard.failed(ip);
            ClusterLog.log("authentication failed from " + ctx.channel().remoteAddress() + ": " + why
                    + (lockout > 0 ? "; refusing " + ip.getHostAddress() + " for " + lockout + " ms after "
                            + policy.maxFailures() + " failed handshakes" : ""));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ready != null && !ready.isDone()) {
                ready.completeExceptionally(cause);
            }
            if (serverSide && link == null) {
                refuse(ctx, describe(cause));
                return;
            }
            if (link != null && ctx.channel().isActive()) {
                ClusterLog.log("closing the connection " + (serverSide ? "from " : "to ") + ctx.channel().remoteAddress()
                        + ": " + describe(cause));
            }
            ctx.close();
        }

        /**
         * Why a connection failed, for the log. Never the bytes it sent (Netty's
         * "not an SSL/TLS record" message dumps them, and they may hold a token sent in the clear).
         */
        private static String describe(Throwable cause) {
            Throwable c = cause;
            while (c instanceof DecoderException && c.getCause() != null) {
                c = c.getCause();
            }
            if (c instanceof NotSslRecordException) {
                return "not a TLS connection (a client without the cluster's TLS keystore?)";
            }
            if (c instanceof TooLongFrameException || c instanceof CorruptedFrameException) {
                return c.getMessage();
            }
            if (c instanceof SSLException) {
                return "TLS handshake failed: " + c.getMessage();
            }
            if (c instanceof java.io.IOException) {
                return String.valueOf(c.getMessage());
            }
            return c.getClass().getSimpleName();
        }

        private InetAddress remoteIp(ChannelHandlerContext ctx) {
            return ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
        }
    }
}
