package io.tessera.cluster.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The data-parallel router: an HTTP front (Netty) over several {@code tessera serve} replicas,
 * each of which may itself be a TP/PP cluster.
 *
 * <ul>
 *   <li>Routing: a request goes to the healthy replica with the fewest outstanding tokens (prompt
 *       estimate + max_tokens of the requests it is serving), except that a replica which recently
 *       served the same prompt prefix (first 256 characters) is preferred while its load is within
 *       {@code affinitySlackTokens} of the least loaded one — its prefix cache then saves the
 *       prompt's prefill.</li>
 *   <li>Health: {@code GET /health} of every replica each {@code healthIntervalMillis}; two failed
 *       checks, or one refused connection, take a replica out; a passing check brings it back.</li>
 *   <li>Faults: a non-streaming response is read whole from the replica before anything is sent,
 *       so a replica failing mid-request is retried on another one and the client sees a complete
 *       answer or a clean JSON error (502/503). A streamed (SSE) response is retried only until its
 *       first byte; a replica dying after that ends the stream with an SSE error event.</li>
 * </ul>
 *
 * {@code GET /health} of the router itself lists the replicas with their state and load.
 */
public final class Router implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PREFIX_CHARS = 256;

    private final List<Replica> replicas = new ArrayList<>();
    private final HttpClient client;
    private final long affinitySlackTokens;
    private final Duration requestTimeout;
    private final Map<Integer, Replica> affinity = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(1024, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Integer, Replica> e) {
                    return size() > 10_000;
                }
            });
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final ExecutorService proxies = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService health;
    private final AtomicLong routed = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong prefixHits = new AtomicLong();
    private Channel server;

    public Router(List<URI> replicaUrls, long healthIntervalMillis, long affinitySlackTokens, Duration requestTimeout) {
        if (replicaUrls.isEmpty()) {
            throw new IllegalArgumentException("the router needs at least one replica");
        }
        for (URI u : replicaUrls) {
            replicas.add(new Replica(u));
        }
        this.affinitySlackTokens = affinitySlackTokens;
        this.requestTimeout = requestTimeout;
        this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1)
                .executor(proxies).build();
        this.health = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tessera-router-health");
            t.setDaemon(true);
            return t;
        });
        health.scheduleWithFixedDelay(this::checkAll, 0, healthIntervalMillis, TimeUnit.MILLISECONDS);
    }

    public List<Replica> replicas() {
        return List.copyOf(replicas);
    }

    public InetSocketAddress start(String host, int port) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 << 20), new Handler());
                    }
                }).bind(host, port).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    private void checkAll() {
        for (Replica r : replicas) {
            proxies.submit(() -> check(r));
        }
    }

    private void check(Replica r) {
        try {
            var resp = client.send(HttpRequest.newBuilder(r.base().resolve("/health")).timeout(Duration.ofSeconds(2))
                    .GET().build(), java.net.http.HttpResponse.BodyHandlers.discarding());
            if (resp.statusCode() == 200) {
                r.up();
            } else {
                r.down("health check answered " + resp.statusCode(), false);
            }
        } catch (IOException e) {
            r.down("health check failed: " + e.getMessage(), e instanceof java.net.ConnectException);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What routing decides for a request body: its token estimate and prefix key. */
    record Shape(long tokens, int prefixKey, boolean stream) {
    }

    static Shape shape(byte[] body) {
        long tokens = 16;
        int key = 0;
        boolean stream = false;
        try {
            JsonNode j = body.length == 0 ? null : JSON.readTree(body);
            if (j != null && j.isObject()) {
                StringBuilder text = new StringBuilder();
                JsonNode p = j.get("prompt");
                if (p != null) {
                    text.append(p.isTextual() ? p.asText() : p.toString());
                }
                JsonNode m = j.get("messages");
                if (m != null && m.isArray()) {
                    for (JsonNode msg : m) {
                        text.append(msg.path("role").asText()).append(':').append(msg.path("content").asText())
                                .append('\n');
                    }
                }
                long max = j.path("max_tokens").asLong(j.path("max_completion_tokens").asLong(256));
                tokens = text.length() / 4 + Math.max(1, max);
                key = text.substring(0, Math.min(PREFIX_CHARS, text.length())).hashCode();
                stream = j.path("stream").asBoolean(false);
            }
        } catch (IOException e) {
            // not JSON: route by load alone; the replica answers the client's mistake
        }
        return new Shape(tokens, key, stream);
    }

    /** The replica for a request, skipping those already tried; null when none is healthy. */
    Replica choose(Shape s, List<Replica> tried) {
        Replica best = null;
        for (Replica r : replicas) {
            if (r.healthy() && !tried.contains(r)
                    && (best == null || r.outstandingTokens() < best.outstandingTokens())) {
                best = r;
            }
        }
        if (best == null) {
            return null;
        }
        Replica warm = s.prefixKey() == 0 ? null : affinity.get(s.prefixKey());
        if (warm != null && warm != best && warm.healthy() && !tried.contains(warm)
                && warm.outstandingTokens() <= best.outstandingTokens() + affinitySlackTokens) {
            prefixHits.incrementAndGet();
            return warm;
        }
        return best;
    }

    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        long up = replicas.stream().filter(Replica::healthy).count();
        m.put("status", up == replicas.size() ? "ok" : up == 0 ? "down" : "degraded");
        m.put("routed", routed.get());
        m.put("retried", retried.get());
        m.put("prefix_affinity_hits", prefixHits.get());
        List<Map<String, Object>> rs = new ArrayList<>();
        for (Replica r : replicas) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("url", r.base().toString());
            e.put("healthy", r.healthy());
            e.put("outstanding_tokens", r.outstandingTokens());
            e.put("served", r.served());
            e.put("failed", r.failed());
            if (r.lastError() != null) {
                e.put("last_error", r.lastError());
            }
            rs.add(e);
        }
        m.put("replicas", rs);
        return m;
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String uri = req.uri();
            if (uri.equals("/health") || uri.equals("/router/health")) {
                Map<String, Object> st = status();
                HttpResponseStatus code = "down".equals(st.get("status")) ? HttpResponseStatus.SERVICE_UNAVAILABLE
                        : HttpResponseStatus.OK;
                respond(ctx.channel(), code, JSON.writeValueAsBytes(st), "application/json", keepAlive);
                return;
            }
            byte[] body = new byte[req.content().readableBytes()];
            req.content().readBytes(body);
            String method = req.method().name();
            String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "application/json");
            String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
            Channel ch = ctx.channel();
            proxies.submit(() -> proxy(ch, method, uri, body, contentType, auth, keepAlive));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private void proxy(Channel ch, String method, String uri, byte[] body, String contentType, String auth,
            boolean keepAlive) {
        Shape s = shape(body);
        List<Replica> tried = new ArrayList<>();
        String lastError = "no healthy replica";
        routed.incrementAndGet();
        while (true) {
            Replica r = choose(s, tried);
            if (r == null) {
                respond(ch, HttpResponseStatus.SERVICE_UNAVAILABLE, error("all replicas failed or are unhealthy; last: "
                        + lastError), "application/json", keepAlive);
                return;
            }
            if (!tried.isEmpty()) {
                retried.incrementAndGet();
            }
            tried.add(r);
            r.begin(s.tokens());
            boolean ok = false;
            boolean started = false;
            try {
                HttpRequest.Builder b = HttpRequest.newBuilder(r.base().resolve(uri)).timeout(requestTimeout)
                        .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
                        .header("Content-Type", contentType);
                if (auth != null) {
                    b.header("Authorization", auth);
                }
                var resp = client.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
                r.up();
                int code = resp.statusCode();
                String type = resp.headers().firstValue("content-type").orElse("application/json");
                if (code >= 500) {
                    byte[] err = resp.body().readAllBytes();
                    lastError = r + " answered " + code + ": " + new String(err, java.nio.charset.StandardCharsets.UTF_8);
                    continue;
                }
                if (!type.startsWith("text/event-stream")) {
                    byte[] whole;
                    try (InputStream in = resp.body()) {
                        whole = in.readAllBytes();
                    }
                    if (s.prefixKey() != 0) {
                        affinity.put(s.prefixKey(), r);
                    }
                    respond(ch, HttpResponseStatus.valueOf(code), whole, type, keepAlive);
                    ok = true;
                    return;
                }
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code));
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
                head.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
                HttpUtil.setTransferEncodingChunked(head, true);
                try (InputStream in = resp.body()) {
                    byte[] buf = new byte[8192];
                    int n = in.read(buf);
                    if (n < 0) {
                        throw new IOException("empty stream");
                    }
                    started = true;
                    ch.writeAndFlush(head);
                    while (n >= 0) {
                        if (n > 0) {
                            ch.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(buf, 0, n)));
                        }
                        n = in.read(buf);
                    }
                } catch (IOException e) {
                    if (!started) {
                        throw e;
                    }
                    String ev = "data: " + new String(error("replica " + r + " failed mid-stream: " + e.getMessage()),
                            java.nio.charset.StandardCharsets.UTF_8) + "\n\n";
                    ch.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(ev.getBytes(
                            java.nio.charset.StandardCharsets.UTF_8))));
                    r.down("failed mid-stream: " + e.getMessage(), false);
                }
                if (s.prefixKey() != 0) {
                    affinity.put(s.prefixKey(), r);
                }
                ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(keepAlive
                        ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
                ok = true;
                return;
            } catch (IOException e) {
                lastError = r + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
                r.down(lastError, e instanceof java.net.ConnectException);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ch.close();
                return;
            } finally {
                r.end(s.tokens(), ok);
            }
        }
    }

    private static byte[] error(String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("error", Map.of("message", message, "type", "router_error")));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void respond(Channel ch, HttpResponseStatus status, byte[] body, String type, boolean keepAlive) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ch.writeAndFlush(r).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
    }

    @Override
    public void close() {
        health.shutdownNow();
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        proxies.shutdownNow();
    }
}
