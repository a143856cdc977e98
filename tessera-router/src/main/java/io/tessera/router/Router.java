package io.tessera.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 *       prompt's prefill. With the replicas' KV addresses ({@link #peerPrefixFetch}), a request sent
 *       away from a busier holder tells its replica to fetch the prefix from the holder
 *       ({@link PrefixFetchHints}).</li>
 *   <li>Only to replicas: a request's target must be a plain path ({@link RequestTarget}); it is
 *       sent to the chosen replica's configured address, never anywhere the client names. Refused
 *       requests (malformed, smuggling shapes, bodies over the limit) are answered by
 *       {@link RequestGuard} and {@link BodyLimit} before anything is forwarded.</li>
 *   <li>Health: {@code GET /health} of every replica each health interval; two failed checks, one
 *       refused connection, a request that could not connect, or a stall take a replica out; a
 *       passing check brings it back. Nothing else changes a replica's health.</li>
 *   <li>Stalls: a replica from which nothing at all arrived (response bytes, SSE keep-alives, health
 *       answers) for the stall timeout while requests are in flight is stalled; those requests are
 *       cancelled and, like failures, retried or ended as below.</li>
 *   <li>Faults: a non-streaming response is read whole from the replica before anything is sent,
 *       so a replica failing mid-request is retried on another one and the client sees a complete
 *       answer or a clean JSON error (503). A streamed (SSE) response is retried only until its
 *       first byte; a replica failing after that ends the stream with an SSE error event.</li>
 *   <li>Client gone: when a client's connection closes, its request at the replica is cancelled
 *       (the router closes that connection, and the replica stops generating).</li>
 * </ul>
 *
 * In the disaggregated mode ({@link #disaggregated}) the replicas are decode instances, and each
 * generation request is first prefilled by a prefill instance ({@link Disaggregation}).
 *
 * {@code GET /health} of the router itself lists the replicas with their state and load.
 */
public final class Router implements AutoCloseable {

    static final System.Logger LOG = System.getLogger(Router.class.getName());
    private static final int PREFIX_CHARS = 256;
    /** Pipelined requests held per connection before the router stops reading from it. */
    private static final int MAX_QUEUED = 4;

    private final List<Replica> replicas = new ArrayList<>();
    private final RouterConfig config;
    private final HttpClient client;
    private final Map<Integer, Replica> affinity = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(1024, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Integer, Replica> e) {
                    return size() > 10_000;
                }
            });
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final ExecutorService proxies = Executors.newVirtualThreadPerTaskExecutor();
    private final HealthMonitor health;
    /** The prefill instances of the disaggregated mode, or null in the data-parallel mode. */
    private final Disaggregation disaggregation;
    private final AtomicLong routed = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong prefixHits = new AtomicLong();
    /** Hints to fetch a prefix from the replica holding it; null until {@link #peerPrefixFetch} is called. */
    private volatile PrefixFetchHints prefixFetch;
    private Channel server;

    public Router(List<URI> replicaUrls, long healthIntervalMillis, long affinitySlackTokens, Duration requestTimeout) {
        this(replicaUrls, RouterConfig.defaults().withHealthInterval(Duration.ofMillis(healthIntervalMillis))
                .withAffinitySlackTokens(affinitySlackTokens).withRequestTimeout(requestTimeout));
    }

    public Router(List<URI> replicaUrls, RouterConfig config) {
        this(List.of(), replicaUrls, config, 0);
    }

    /**
     * The disaggregated mode: each generation request is prefilled by one of {@code prefillUrls}
     * (started with {@code --kv-role prefill}), then decoded by one of {@code decodeUrls} (with
     * {@code --kv-role decode}), which pulls the prompt's KV and answers the client; a prompt
     * estimated below {@code localPrefillBelowTokens} tokens is prefilled by the decode instance.
     */
    public static Router disaggregated(List<URI> prefillUrls, List<URI> decodeUrls, RouterConfig config,
            long localPrefillBelowTokens) {
        if (prefillUrls.isEmpty()) {
            throw new IllegalArgumentException("the disaggregated router needs at least one prefill instance");
        }
        return new Router(prefillUrls, decodeUrls, config, localPrefillBelowTokens);
    }

    private Router(List<URI> prefillUrls, List<URI> replicaUrls, RouterConfig config, long localPrefillBelowTokens) {
        if (replicaUrls.isEmpty()) {
            throw new IllegalArgumentException(prefillUrls.isEmpty() ? "the router needs at least one replica"
                    : "the disaggregated router needs at least one decode instance");
        }
        for (URI u : replicaUrls) {
            replicas.add(new Replica(checkReplicaUrl(u)));
        }
        List<Replica> prefill = new ArrayList<>();
        for (URI u : prefillUrls) {
            prefill.add(new Replica(checkReplicaUrl(u)));
        }
        this.config = config;
        this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).executor(proxies).build();
        List<Replica> all = new ArrayList<>(replicas);
        all.addAll(prefill);
        this.health = new HealthMonitor(all, client, config, proxies);
        this.disaggregation = prefill.isEmpty() ? null
                : new Disaggregation(prefill, localPrefillBelowTokens, client, config);
    }

    /** A replica is named by an http(s) URL with a host and nothing after the port but an optional '/'. */
    private static URI checkReplicaUrl(URI u) {
        String scheme = u.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null
                || u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null
                || !(u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))) {
            throw new IllegalArgumentException("a replica must be given as http://HOST:PORT or https://HOST:PORT, got '"
                    + u + "'");
        }
        return u;
    }

    public List<Replica> replicas() {
        return List.copyOf(replicas);
    }

    /**
     * Lets a replica fetch a prompt's prefix from the replica that holds it (peer prefix fetch):
     * {@code kvAddresses} gives each replica's KV transfer address ({@code --kv-transfer-listen}), in
     * the order of the replicas, {@code "-"} for one that serves none. Data-parallel mode only; call
     * before {@link #start}.
     */
    public Router peerPrefixFetch(List<String> kvAddresses) {
        if (disaggregation != null) {
            throw new IllegalArgumentException("peer prefix fetch is for the data-parallel router (--replicas), not "
                    + "the disaggregated one");
        }
        if (kvAddresses.size() != replicas.size()) {
            throw new IllegalArgumentException("one KV address per replica is needed ('-' for none): " + replicas.size()
                    + " replicas, " + kvAddresses.size() + " addresses");
        }
        for (int i = 0; i < replicas.size(); i++) {
            replicas.get(i).kvAddress(PrefixFetchHints.checkAddress(kvAddresses.get(i)));
        }
        prefixFetch = new PrefixFetchHints();
        return this;
    }

    public RouterConfig config() {
        return config;
    }

    public InetSocketAddress start(String host, int port) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                // request bodies live in the heap, where the garbage collector gives their memory back
                .childOption(ChannelOption.ALLOCATOR, new UnpooledByteBufAllocator(false))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ConnectionDeadlines deadlines = new ConnectionDeadlines(config.requestReadTimeout(),
                                config.idleTimeout());
                        ch.pipeline().addLast(deadlines, new StrictRequestDecoder(), new HttpResponseEncoder(),
                                new RequestGuard(), new BodyLimit(config.maxBodyBytes()), new Handler(deadlines));
                    }
                }).bind(host, port).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    /** What routing decides for a request body: its token estimate (prompt and output), prompt estimate and prefix key. */
    record Shape(long tokens, long promptTokens, int prefixKey, boolean stream) {
    }

    static Shape shape(byte[] body) {
        long tokens = 16;
        long prompt = 0;
        int key = 0;
        boolean stream = false;
        try {
            JsonNode j = body.length == 0 ? null : Replies.JSON.readTree(body);
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
                prompt = text.length() / 4;
                tokens = prompt + Math.max(1, max);
                key = text.substring(0, Math.min(PREFIX_CHARS, text.length())).hashCode();
                stream = j.path("stream").asBoolean(false);
            }
        } catch (IOException e) {
            // not JSON: route by load alone; the replica answers the client's mistake
        }
        return new Shape(tokens, prompt, key, stream);
    }

    /**
     * Where a request goes: {@code replica}; {@code busyHolder} is the replica that served its prefix
     * last when it was passed over for being busier than the slack allows (it may lend the prefix).
     */
    record Choice(Replica replica, Replica busyHolder) {
    }

    /** The replica for a request, skipping those already tried; null when none is healthy. */
    Choice choose(Shape s, List<Replica> tried) {
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
        if (warm == null || warm == best || !warm.healthy() || tried.contains(warm)) {
            return new Choice(best, null);
        }
        if (warm.outstandingTokens() <= best.outstandingTokens() + config.affinitySlackTokens()) {
            prefixHits.incrementAndGet();
            return new Choice(warm, null);
        }
        // too busy to take it: its blocks can still be fetched from it
        return new Choice(best, warm);
    }

    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        long up = replicas.stream().filter(Replica::healthy).count();
        m.put("status", up == replicas.size() ? "ok" : up == 0 ? "down" : "degraded");
        m.put("routed", routed.get());
        m.put("retried", retried.get());
        m.put("prefix_affinity_hits", prefixHits.get());
        PrefixFetchHints hints = prefixFetch;
        if (hints != null) {
            m.put("prefix_fetch_hints", hints.count());
        }
        List<Map<String, Object>> rs = new ArrayList<>();
        for (Replica r : replicas) {
            rs.add(status(r));
        }
        m.put("replicas", rs);
        if (disaggregation != null) {
            List<Map<String, Object>> ps = new ArrayList<>();
            for (Replica r : disaggregation.prefillReplicas()) {
                ps.add(status(r));
            }
            m.put("prefill_replicas", ps);
            m.put("disaggregation", disaggregation.status());
        }
        return m;
    }

    /** One replica's line of {@code /health}. */
    private static Map<String, Object> status(Replica r) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("url", r.base().toString());
        e.put("healthy", r.healthy());
        e.put("outstanding_tokens", r.outstandingTokens());
        e.put("served", r.served());
        e.put("failed", r.failed());
        if (r.kvAddress() != null) {
            e.put("kv_address", r.kvAddress());
        }
        if (r.lastError() != null) {
            e.put("last_error", r.lastError());
        }
        return e;
    }

    /** The client headers a replica gets; everything else (Host, Connection, framing) is the router's own. */
    private static final List<String> FORWARDED_HEADERS = List.of("Content-Type", "Authorization", "Accept", "Origin",
            "Access-Control-Request-Method", "Access-Control-Request-Headers");

    /** The replica's response headers a client gets besides Content-Type (CORS, retry and auth hints). */
    private static final List<String> RELAYED_HEADERS = List.of("Allow", "Retry-After", "WWW-Authenticate", "Vary",
            "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
            "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Max-Age");

    private static void relayHeaders(java.net.http.HttpHeaders from, io.netty.handler.codec.http.HttpHeaders to) {
        for (String name : RELAYED_HEADERS) {
            List<String> values = from.allValues(name);
            if (!values.isEmpty()) {
                to.set(name, values);
            }
        }
    }

    /** One client request as the proxy needs it, detached from Netty's buffers. */
    private record Request(Channel ch, String method, RequestTarget target, byte[] body, Map<String, String> headers,
            boolean keepAlive, Shape shape) {

        /** {@code GET /health} or {@code /router/health}: answered by the router itself. */
        boolean isRoutersOwnHealth() {
            return (target.path().equals("/health") || target.path().equals("/router/health"))
                    && (method.equals("GET") || method.equals("HEAD"));
        }
    }

    private static byte[] writeJson(Object o) {
        try {
            return Replies.JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Per connection, on its event loop: answers the router's own /health, hands other requests to a
     * proxy thread one at a time (pipelined requests wait their turn, so responses keep their order).
     */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {

        private final ArrayDeque<Request> queued = new ArrayDeque<>();
        private final ConnectionDeadlines deadlines;
        private boolean busy;

        Handler(ConnectionDeadlines deadlines) {
            this.deadlines = deadlines;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            if (((SocketChannel) ctx.channel()).isOutputShutdown()) {
                return; // decoded in the same read as a request that was refused; the connection is closing
            }
            deadlines.requestComplete();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            RequestTarget target = RequestTarget.parse(req.uri()); // already normalised by RequestGuard
            Map<String, String> headers = new LinkedHashMap<>();
            for (String name : FORWARDED_HEADERS) {
                String v = req.headers().get(name);
                if (v != null) {
                    try {
                        HttpRequest.newBuilder().header(name, v);
                    } catch (IllegalArgumentException e) {
                        Replies.refuse(ctx.channel(), HttpResponseStatus.BAD_REQUEST, "The " + name
                                + " header has characters that cannot be forwarded.");
                        return;
                    }
                    headers.put(name, v);
                }
            }
            byte[] body = new byte[req.content().readableBytes()];
            req.content().readBytes(body);
            queued.add(new Request(ctx.channel(), req.method().name(), target, body, headers, keepAlive,
                    shape(body)));
            if (queued.size() >= MAX_QUEUED) {
                ctx.channel().config().setAutoRead(false);
            }
            next(ctx);
        }

        private void next(ChannelHandlerContext ctx) {
            if (busy) {
                return;
            }
            if (!ctx.channel().isActive()) {
                queued.clear();
                return;
            }
            while (!queued.isEmpty() && queued.peek().isRoutersOwnHealth()) {
                Request h = queued.poll();
                Map<String, Object> st = status();
                HttpResponseStatus code = "down".equals(st.get("status")) ? HttpResponseStatus.SERVICE_UNAVAILABLE
                        : HttpResponseStatus.OK;
                Replies.send(h.ch(), code, writeJson(st), "application/json", h.keepAlive());
            }
            Request r = queued.poll();
            if (r == null) {
                ctx.channel().config().setAutoRead(true);
                deadlines.responseComplete();
                return;
            }
            busy = true;
            deadlines.requestComplete();
            proxies.submit(() -> {
                try {
                    proxy(r);
                } catch (RuntimeException | Error e) {
                    // a bug must not leave the client hanging
                    LOG.log(System.Logger.Level.ERROR, "proxying " + r.method() + " " + r.target().originForm()
                            + " failed", e);
                    r.ch().close();
                } finally {
                    ctx.executor().execute(() -> {
                        busy = false;
                        next(ctx);
                    });
                }
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "connection from " + ctx.channel().remoteAddress() + " failed", cause);
            ctx.close();
        }
    }

    /** The client's side of one request while it is proxied: which attempt to cancel when the client leaves. */
    private static final class ClientWatch implements ChannelFutureListener {
        private volatile Attempt current;
        private volatile boolean gone;

        @Override
        public void operationComplete(ChannelFuture f) {
            gone = true;
            Attempt a = current;
            if (a != null) {
                a.cancel(Attempt.Cancel.CLIENT_GONE);
            }
        }

        void track(Attempt a) {
            current = a;
            if (gone) {
                a.cancel(Attempt.Cancel.CLIENT_GONE);
            }
        }
    }

    private void proxy(Request original) {
        List<Replica> tried = new ArrayList<>();
        String lastError = "no healthy replica";
        routed.incrementAndGet();
        ClientWatch watch = new ClientWatch();
        original.ch().closeFuture().addListener(watch);
        Request req = original;
        try {
            if (disaggregation != null) {
                byte[] body = disaggregation.decodeBody(req.method(), req.target().path(), req.body(), req.headers(),
                        req.shape().promptTokens(), watch::track);
                if (body == null) {
                    return; // the client left during the prefill
                }
                req = new Request(req.ch(), req.method(), req.target(), body, req.headers(), req.keepAlive(),
                        req.shape());
            }
            while (!watch.gone) {
                Choice choice = choose(req.shape(), tried);
                Replica r = choice == null ? null : choice.replica();
                if (r == null) {
                    LOG.log(System.Logger.Level.WARNING, req.method() + " " + req.target().path()
                            + ": no replica could serve it; last: " + lastError);
                    Replies.send(req.ch(), HttpResponseStatus.SERVICE_UNAVAILABLE, Replies.error(
                            "All replicas failed or are unhealthy; try again later.", "router_error"),
                            "application/json", req.keepAlive());
                    return;
                }
                if (!tried.isEmpty()) {
                    retried.incrementAndGet();
                }
                tried.add(r);
                Request sent = withPrefixHint(req, choice);
                Attempt a = new Attempt(r, Thread.currentThread());
                String failure = forward(sent, a, watch);
                if (failure == null) {
                    return;
                }
                lastError = r + ": " + failure;
            }
        } finally {
            original.ch().closeFuture().removeListener(watch);
        }
    }

    /** The request with a hint to fetch its prefix from the busy replica holding it, when one applies. */
    private Request withPrefixHint(Request req, Choice choice) {
        PrefixFetchHints hints = prefixFetch;
        if (hints == null || choice.busyHolder() == null) {
            return req;
        }
        byte[] body = hints.withHint(req.method(), req.target().path(), req.body(), choice.busyHolder(),
                choice.replica());
        return body == null ? req : new Request(req.ch(), req.method(), req.target(), body, req.headers(),
                req.keepAlive(), req.shape());
    }

    /**
     * Sends the request to the attempt's replica and relays the answer. Returns null when the
     * request is done with (answered, or its client gone), else why the replica failed it (nothing
     * was sent to the client; the caller may retry elsewhere).
     */
    private String forward(Request req, Attempt a, ClientWatch watch) {
        Replica r = a.replica;
        long tokens = req.shape().tokens();
        r.begin(a, tokens);
        watch.track(a);
        boolean ok = false;
        boolean started = false;
        InputStream in = null;
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(req.target().on(r.base())).timeout(config.requestTimeout())
                    .method(req.method(), req.body().length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(req.body()));
            req.headers().forEach(b::header);
            var resp = client.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            in = resp.body();
            r.up();
            int code = resp.statusCode();
            String type = resp.headers().firstValue("content-type").orElse("application/json");
            if (code >= 500) {
                return "answered " + code + ": " + new String(readAll(in, r), StandardCharsets.UTF_8);
            }
            if (!type.startsWith("text/event-stream")) {
                byte[] whole = readAll(in, r);
                remember(req.shape(), r);
                FullHttpResponse answer = Replies.response(HttpResponseStatus.valueOf(code), whole, type,
                        req.keepAlive());
                relayHeaders(resp.headers(), answer.headers());
                Replies.send(req.ch(), answer, req.keepAlive());
                ok = true;
                return null;
            }
            byte[] buf = new byte[8192];
            int n = in.read(buf);
            if (n < 0) {
                return "answered an empty stream";
            }
            r.heard();
            started = true;
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code));
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            relayHeaders(resp.headers(), head.headers());
            HttpUtil.setTransferEncodingChunked(head, true);
            if (!write(req.ch(), head)) {
                return null;
            }
            while (n >= 0) {
                if (n > 0 && !write(req.ch(), new DefaultHttpContent(Unpooled.copiedBuffer(buf, 0, n)))) {
                    return null;
                }
                n = in.read(buf);
                r.heard();
            }
            remember(req.shape(), r);
            endStream(req);
            ok = true;
            return null;
        } catch (IOException | InterruptedException e) {
            Attempt.Cancel why = a.finish();
            if (why == Attempt.Cancel.CLIENT_GONE) {
                LOG.log(System.Logger.Level.DEBUG, "client of " + req.target().path() + " left; cancelled at " + r);
                return null;
            }
            String failure = why != null ? why.why : describe(e);
            if (why != Attempt.Cancel.STALLED) {
                r.down(failure, e instanceof ConnectException);
            }
            if (started) {
                LOG.log(System.Logger.Level.WARNING, "a stream from " + r + " failed after its start: " + failure);
                String ev = "data: " + new String(Replies.error("The replica serving this stream failed ("
                        + (why != null ? why.why : "its connection broke") + "); the output is incomplete.",
                        "router_error"), StandardCharsets.UTF_8) + "\n\n";
                req.ch().write(new DefaultHttpContent(Unpooled.copiedBuffer(ev, StandardCharsets.UTF_8)));
                endStream(req);
                return null;
            }
            return failure;
        } finally {
            a.finish();
            if (in != null) {
                try {
                    in.close(); // before the end of the body: closes the connection, which cancels the request
                } catch (IOException e) {
                    // closing is all that was wanted
                }
            }
            r.end(a, tokens, ok);
        }
    }

    private void remember(Shape s, Replica r) {
        if (s.prefixKey() != 0) {
            affinity.put(s.prefixKey(), r);
        }
    }

    /** The whole body, noting each arrival as a sign of life. */
    private static byte[] readAll(InputStream in, Replica r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) >= 0; ) {
            r.heard();
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** Writes to the client and waits until it is written (a slow reader slows the relay); false if it is gone. */
    private static boolean write(Channel ch, Object msg) throws InterruptedException {
        return ch.writeAndFlush(msg).await().isSuccess();
    }

    private static void endStream(Request req) {
        req.ch().writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(req.keepAlive()
                ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
    }

    static String describe(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": "
                + e.getMessage();
    }

    @Override
    public void close() {
        health.close();
        if (server != null) {
            server.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        proxies.shutdownNow();
    }
}
