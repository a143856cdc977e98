package io.tessera.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.tessera.engine.Engine;
import io.tessera.engine.GenerationLimits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Tessera's HTTP server: the OpenAI-compatible API, {@code /tokenize} and {@code /detokenize},
 * {@code /health}, Prometheus {@code /metrics}, the live numbers {@code /stats} and the web UI at
 * {@code /}, around an {@link Engine} it is given (and does not own). Javalin on Jetty, one virtual
 * thread per request.
 */
public final class TesseraServer implements AutoCloseable {

    private static final String WEB = "/io/tessera/server/web/";
    /** Set on a request answered with an {@link ApiException}, so that the status handlers leave it alone. */
    private static final String API_ERROR = "tessera.api-error";

    private final Engine engine;
    private final ServedModel model;
    private final ServerConfig config;
    private final RequestLogging logging;
    private final AccessLog accessLog = new AccessLog();
    private Thread statsLogger;
    private final ObjectMapper json = new ObjectMapper();
    private final ServerMetrics metrics;
    private final Admission admission;
    private final GenerationRunner generation;
    private final CompletionsHandler completions;
    private final ChatCompletionsHandler chatCompletions;
    private final TokenizeHandler tokenizer;
    private final EmbeddingsHandler embeddings;
    private final PrometheusTextFormatWriter metricsWriter = PrometheusTextFormatWriter.create();
    private final long created = System.currentTimeMillis() / 1000;
    private Javalin app;
    private Thread sampler;
    private SlowRequestReaper reaper;
    private final HostFilter hostFilter;
    private final Cors cors;
    private volatile boolean draining;
    private volatile boolean closed;

    /** A server that logs as {@link RequestLogging#defaults()} says. */
    public TesseraServer(Engine engine, ServedModel model, ServerConfig config) {
        this(engine, model, config, RequestLogging.defaults());
    }

    public TesseraServer(Engine engine, ServedModel model, ServerConfig config, RequestLogging logging) {
        this.engine = engine;
        this.model = model;
        this.config = config;
        this.logging = logging;
        this.metrics = new ServerMetrics(engine, model.name());
        this.admission = new Admission(config.maxPendingRequests());
        PromptEncoder encoder = new PromptEncoder(model);
        ChatPromptRenderer chatRenderer = new ChatPromptRenderer(model);
        // the engine's limits with the context this server serves (--max-model-len may shorten the model's)
        GenerationLimits limits = new GenerationLimits(model.contextLength(), engine.limits().maxSeqs());
        StructuredOutput structured = new StructuredOutput(model.tokenizer());
        GenerateParamsParser params = new GenerateParamsParser(limits, model, structured, engine.kvConnector());
        this.generation = new GenerationRunner(engine, model, limits, metrics, admission, json);
        this.completions = new CompletionsHandler(model, encoder, params, generation, config.maxPrompts());
        this.chatCompletions = new ChatCompletionsHandler(model, chatRenderer, encoder, params, structured,
                generation);
        this.embeddings = new EmbeddingsHandler(engine, model, limits, metrics, admission, json, encoder,
                config.maxPrompts());
        this.tokenizer = new TokenizeHandler(model, limits, encoder, chatRenderer, json);
        this.hostFilter = new HostFilter(config);
        this.cors = new Cors(config.allowedOrigins());
    }

    /** Binds and starts serving; returns this. */
    public TesseraServer start() {
        app = Javalin.create(cfg -> {
            cfg.useVirtualThreads = true;
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.http.disableCompression();
            cfg.http.prefer405over404 = true;
        });
        app.before(this::guard);
        if (logging.accessLog()) {
            app.after(accessLog::log);
        }
        app.get("/health", this::health);
        app.get("/version", this::version);
        app.get("/metrics", this::metrics);
        app.get("/stats", ctx -> ctx.json(metrics.live(admission.pending())));
        app.get("/v1/models", keyed(this::models));
        app.get("/v1/models/{id}", keyed(this::model));
        app.post("/v1/completions", keyedJson(withBody(completions::handle)));
        app.post("/v1/chat/completions", keyedJson(withBody(chatCompletions::handle)));
        app.post("/v1/embeddings", keyedJson(withBody(embeddings::handle)));
        app.post("/tokenize", keyedJson(withBody(tokenizer::tokenize)));
        app.post("/detokenize", keyedJson(withBody(tokenizer::detokenize)));
        app.get("/", ctx -> resource(ctx, "index.html", "text/html; charset=utf-8"));
        app.get("/ui/app.js", ctx -> resource(ctx, "app.js", "text/javascript; charset=utf-8"));
        app.get("/ui/style.css", ctx -> resource(ctx, "style.css", "text/css; charset=utf-8"));
        app.get("/ui/favicon.svg", ctx -> resource(ctx, "favicon.svg", "image/svg+xml"));
        app.get("/favicon.ico", ctx -> resource(ctx, "favicon.svg", "image/svg+xml"));
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        app.exception(Exception.class, (e, ctx) -> error(ctx, ApiException.internal(
                e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()))));
        // Javalin's own answers (no such route, wrong method) become OpenAI error objects, whatever Accept says
        app.error(404, ctx -> {
            if (ctx.attribute(API_ERROR) == null) {
                error(ctx, ApiException.notFound("no such endpoint: " + ctx.method() + " " + ctx.path(), null));
            }
        });
        app.error(405, ctx -> {
            if (ctx.attribute(API_ERROR) == null) {
                error(ctx, ApiException.methodNotAllowed("method " + ctx.method() + " is not allowed on "
                        + ctx.path()));
            }
        });
        app.start(config.host(), config.port());
        reaper = new SlowRequestReaper(() -> List.of(app.jettyServer().server().getConnectors()),
                config.readTimeout(), metrics.slowRequestsClosed::inc);
        if (!logging.statsInterval().isZero()) {
            statsLogger = Thread.ofVirtual().name("tessera-stats-log").start(this::logStats);
        }
        sampler = Thread.ofVirtual().name("tessera-metrics-sampler").start(() -> {
            while (!closed) {
                metrics.sample();
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return this;
    }

    /** Writes the throughput line every interval while the engine is busy, until the server closes. */
    private void logStats() {
        io.tessera.engine.EngineStats before = engine.stats();
        long t0 = System.nanoTime();
        while (!closed) {
            try {
                Thread.sleep(logging.statsInterval());
            } catch (InterruptedException e) {
                return;
            }
            io.tessera.engine.EngineStats now = engine.stats();
            long t1 = System.nanoTime();
            String line = ThroughputLog.line(before, now, (t1 - t0) / 1e9);
            if (line != null) {
                ThroughputLog.LOG.info(line);
            }
            before = now;
            t0 = t1;
        }
    }

    /** Where access log lines go instead of the logger (tests). */
    void accessLogSink(java.util.function.Consumer<String> sink) {
        accessLog.sink(sink);
    }

    /** Sets how long a stream may go without output before an SSE comment line is sent (tests). */
    TesseraServer keepAliveInterval(Duration d) {
        generation.keepAliveMs = Math.max(1, d.toMillis());
        embeddings.keepAliveMs = generation.keepAliveMs;
        return this;
    }

    /** The bound port. */
    public int port() {
        return app.port();
    }

    public String baseUrl() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    // ---------------------------------------------------------------- handlers

    /**
     * Runs before every route, known or not: the Host check (DNS rebinding), CORS, and 503 while
     * shutting down.
     */
    private void guard(Context ctx) {
        RequestRecord.start(ctx);
        if (!hostFilter.allows(ctx.header("Host"))) {
            throw ApiException.forbidden("Host '" + ctx.header("Host") + "' is not allowed: this server has no API key"
                    + " and listens on loopback, so it answers only to localhost names (set an API key, or bind"
                    + " --host to another address).", "host_not_allowed");
        }
        if (Cors.isPreflight(ctx)) {
            cors.preflight(ctx);
            ctx.skipRemainingHandlers();
            return;
        }
        cors.decorate(ctx);
        if (draining) {
            ctx.header("Connection", "close");
            throw ApiException.unavailable("the server is shutting down");
        }
    }

    /** A route that needs the API key, checked on the route matched (so /x/ is /x), before anything else. */
    private Handler keyed(Handler h) {
        return ctx -> {
            authorize(ctx);
            h.handle(ctx);
        };
    }

    /** A keyed route whose body is JSON: other content types get 415 (a page elsewhere cannot post plain text). */
    private Handler keyedJson(Handler h) {
        return keyed(ctx -> {
            String type = ctx.header("Content-Type");
            String media = type == null ? "" : type.split(";", 2)[0].trim();
            if (!media.equalsIgnoreCase("application/json")) {
                throw ApiException.unsupportedMediaType("The request body must be JSON sent as 'Content-Type:"
                        + " application/json'" + (type == null ? "; no Content-Type was given" : ", not '" + type
                        + "'") + " (with curl: -H 'Content-Type: application/json').");
            }
            h.handle(ctx);
        });
    }

    private void authorize(Context ctx) {
        String key = config.apiKey();
        if (key == null) {
            return;
        }
        String h = ctx.header("Authorization");
        String want = "Bearer " + key;
        if (h == null || !MessageDigest.isEqual(h.getBytes(StandardCharsets.UTF_8),
                want.getBytes(StandardCharsets.UTF_8))) {
            throw ApiException.unauthorized(h == null
                    ? "Missing API key: send 'Authorization: Bearer <key>'."
                    : "Incorrect API key provided.");
        }
    }

    private void health(Context ctx) {
        if (engine.crash() != null) {
            ctx.status(503).result("engine failed: " + engine.crash());
        } else if (draining) {
            ctx.status(503).result("shutting down");
        } else if (engine.executorHealth() != null) {
            ctx.status(503).result(engine.executorHealth());
        } else {
            ctx.status(200);
        }
    }

    private void metrics(Context ctx) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        metricsWriter.write(buf, metrics.scrape());
        ctx.contentType(metricsWriter.getContentType()).result(buf.toByteArray());
    }

    /** vLLM's {@code GET /version}, with the commit as {@code tessera --version} names it. */
    private void version(Context ctx) throws JsonProcessingException {
        BuildInfo b = BuildInfo.current();
        ObjectNode root = json.createObjectNode();
        root.put("version", b.version());
        root.put("commit", b.commit());
        ctx.contentType("application/json").result(json.writeValueAsBytes(root));
    }

    /**
     * OpenAI's model object, with vLLM's {@code root}, {@code parent} and {@code max_model_len}, the
     * endpoints the model serves ({@code capabilities}: completion and chat always, embeddings when
     * the executor returns hidden states, tools when the chat template takes them) and, as
     * llama.cpp's server, a {@code meta} of sizes.
     */
    private ObjectNode modelCard() {
        ObjectNode m = json.createObjectNode();
        m.put("id", model.name());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "tessera");
        m.put("root", model.name());
        m.putNull("parent");
        m.put("max_model_len", model.contextLength());
        ArrayNode caps = m.putArray("capabilities").add("completion").add("chat");
        if (engine.supportsEmbeddings()) {
            caps.add("embeddings");
        }
        if (ToolCallSyntax.of(model.chatTemplate().source()).isPresent()) {
            caps.add("tools");
        }
        ObjectNode meta = m.putObject("meta");
        meta.put("n_vocab", model.tokenizer().vocabSize());
        meta.put("n_ctx", model.contextLength());
        meta.put("n_embd", engine.hiddenSize());
        meta.put("pooling", model.pooling().lowerName());
        return m;
    }

    private void models(Context ctx) throws JsonProcessingException {
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        root.putArray("data").add(modelCard());
        ctx.contentType("application/json").result(json.writeValueAsBytes(root));
    }

    private void model(Context ctx) throws JsonProcessingException {
        if (!ctx.pathParam("id").equals(model.name())) {
            throw ApiException.notFound("The model '" + ctx.pathParam("id") + "' does not exist.", "model_not_found");
        }
        ctx.contentType("application/json").result(json.writeValueAsBytes(modelCard()));
    }

    /** An endpoint taking the parsed JSON body and the time the request arrived (before its body was read). */
    @FunctionalInterface
    interface BodyHandler {
        void handle(Context ctx, JsonNode body, long arrivalNanos) throws IOException;
    }

    private Handler withBody(BodyHandler h) {
        return ctx -> {
            long arrival = System.nanoTime();
            h.handle(ctx, body(ctx), arrival);
        };
    }

    /** The request body as a JSON object, within the size limit (413) and well formed (400). */
    private JsonNode body(Context ctx) {
        long limit = config.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            throw ApiException.tooLarge("The request body of " + declared + " bytes is over this server's limit of "
                    + limit + " bytes.");
        }
        byte[] bytes;
        try (InputStream in = ctx.req().getInputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
        } catch (IOException e) {
            throw ApiException.badRequest("could not read the request body: " + e.getMessage());
        }
        if (bytes.length > limit) {
            throw ApiException.tooLarge("The request body is over this server's limit of " + limit + " bytes.");
        }
        JsonNode node;
        try {
            node = json.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest("The request body is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object.");
        }
        return node;
    }

    private void resource(Context ctx, String name, String type) throws IOException {
        try (InputStream in = TesseraServer.class.getResourceAsStream(WEB + name)) {
            if (in == null) {
                ctx.status(404).result("not found");
                return;
            }
            ctx.contentType(type).header("Cache-Control", "no-cache").result(in.readAllBytes());
        }
    }

    private void error(Context ctx, ApiException e) {
        ctx.attribute(API_ERROR, Boolean.TRUE);
        metrics.httpErrors.labelValues(Integer.toString(e.status())).inc();
        if (ctx.res().isCommitted()) {
            return;
        }
        Map<String, Object> err = new java.util.LinkedHashMap<>();
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        try {
            ctx.status(e.status()).contentType("application/json")
                    .result(json.writeValueAsBytes(Map.of("error", err)));
        } catch (JsonProcessingException x) {
            ctx.status(e.status());
        }
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * Graceful shutdown: new requests get 503 (the listener stays open so that clients learn why),
     * requests in flight may finish for up to the configured grace, what remains is aborted, then
     * the HTTP server stops. The engine stays open (its owner closes it).
     */
    @Override
    public void close() {
        if (closed || app == null) {
            return;
        }
        draining = true;
        long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
        waitIdle(deadline);
        if (admission.pending() > 0) {
            generation.abortAll();
            embeddings.abortAll();
            waitIdle(System.nanoTime() + Duration.ofSeconds(5).toNanos());
        }
        closed = true;
        if (sampler != null) {
            sampler.interrupt();
        }
        if (statsLogger != null) {
            statsLogger.interrupt();
        }
        if (reaper != null) {
            reaper.close();
        }
        app.stop();
    }

    private void waitIdle(long deadlineNanos) {
        while (admission.pending() > 0 && System.nanoTime() < deadlineNanos) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Requests admitted and not finished (running, waiting, or being written). */
    public int pendingRequests() {
        return admission.pending();
    }
}
