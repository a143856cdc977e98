package io.tessera.cli;

import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.Pooling;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.model.ModelLoader;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestStream.Completion;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.kv.KvCacheBudget;
import io.tessera.server.ChatTemplate;
import io.tessera.server.RequestLogging;
import io.tessera.server.ServedModel;
import io.tessera.server.ServerConfig;
import io.tessera.server.TesseraServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera serve}: the OpenAI-compatible server, metrics and web UI over one engine. The
 * executor is built in {@link #createExecutor} only; a distributed executor replaces it there.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, "
                + "/v1/embeddings, /v1/models, /version), with Prometheus /metrics and a web UI at /. The model is the first argument or "
                + "-m/--model.")
final class ServeCommand implements Callable<Integer> {

    @Mixin
    QuantizeOption quantize = new QuantizeOption();

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    EngineOptions engineOptions;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    KvTransferOptions kvTransfer = new KvTransferOptions();

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", defaultValue = "8000", paramLabel = "N",
            description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require 'Authorization: Bearer KEY' on the API (default: $TESSERA_API_KEY, else none).")
    String apiKey;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The model id clients send (default: the model file's name without extension).")
    String servedModelName;

    @Option(names = "--max-queue", defaultValue = "256", paramLabel = "N",
            description = "Sequences that may wait beyond the --max-seqs running ones, a request counting its "
                    + "prompts × n; more get 429, a request larger than --max-seqs plus this gets 400 "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--max-prompts", defaultValue = "" + ServerConfig.DEFAULT_MAX_PROMPTS, paramLabel = "N",
            description = "Prompts one /v1/completions request may carry; more get 400 (default: ${DEFAULT-VALUE}).")
    int maxPrompts;

    @Option(names = "--read-timeout", defaultValue = "20", paramLabel = "SECONDS",
            description = "Time a request's line, headers and body may take to arrive, from its first byte; slower "
                    + "connections are closed (slow-loris) (default: ${DEFAULT-VALUE}).")
    double readTimeout;

    @Option(names = "--allowed-origins", split = ",", paramLabel = "ORIGIN",
            description = "Browser origins (scheme://host:port, comma-separated, or *) allowed to call the API "
                    + "from their pages (CORS); default none.")
    List<String> allowedOrigins;

    @Option(names = "--max-body-size", defaultValue = "4M", paramLabel = "BYTES",
            description = "Largest request body; larger gets 413 (default: ${DEFAULT-VALUE}).")
    String maxBodySize;

    @Option(names = "--shutdown-grace", defaultValue = "10", paramLabel = "SECONDS",
            description = "At shutdown, how long requests in flight may finish before they are aborted "
                    + "(default: ${DEFAULT-VALUE}).")
    double shutdownGrace;

    @Option(names = "--chat-template", paramLabel = "FILE",
            description = "A Jinja chat template (UTF-8 text) to render chat requests with instead of the model's "
                    + "own; refused at startup if unreadable or not a valid template.")
    Path chatTemplate;

    @Option(names = "--no-access-log",
            description = "Do not log a line per API request (method, path, status, duration, response id, "
                    + "tokens, time to first token; never prompt text or keys) on the logger io.tessera.server.access.")
    boolean noAccessLog;

    @Option(names = "--log-stats-interval", defaultValue = "10", paramLabel = "SECONDS",
            description = "How often to log the engine's throughput, running and waiting requests and KV cache "
                    + "usage while it is busy (logger io.tessera.server.stats); 0 turns it off "
                    + "(default: ${DEFAULT-VALUE}).")
    double logStatsInterval;

    @Option(names = "--pooling", paramLabel = "mean|last",
            description = "How /v1/embeddings pools the final hidden states (after the final norm) into one vector "
                    + "per input: the mean over the tokens, or the last token's (default: the GGUF file's "
                    + "<arch>.pooling_type when it has one, else last, as vLLM pools decoder models). Vectors are "
                    + "returned at unit length.")
    String pooling;

    @Option(names = "--max-model-len", paramLabel = "N",
            description = "Tokens of prompt and output together at most, below the model's context length "
                    + "(default: the model's context length); longer requests get 400.")
    Integer maxModelLen;

    /** A started server with everything it runs on; closing it shuts down in order. */
    record Running(TesseraServer server, Engine engine, Executor executor, Parallel parallel, LoadedModel loaded,
            KvConnector connector) implements AutoCloseable {
        @Override
        public void close() {
            server.close();
            engine.close();
            if (connector instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("tessera serve: closing the KV transfer failed: " + e.getMessage());
                }
            }
            executor.close();
            parallel.close();
            loaded.close();
        }
    }

    @Override
    public Integer call() throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // the server's own lines (access log, throughput) at info, with a timestamp; a -D given wins
        setIfAbsent("org.slf4j.simpleLogger.log.io.tessera.server", "info");
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        Running running = start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("tessera serve: shutting down (grace " + shutdownGrace + " s)");
            running.close();
            stopped.countDown();
        }, "tessera-shutdown"));
        stopped.await();
        return 0;
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The request and throughput logging the flags ask for. */
    RequestLogging logging() {
        if (!(logStatsInterval >= 0) || Double.isInfinite(logStatsInterval)) {
            throw new IllegalArgumentException("--log-stats-interval must be 0 (off) or a positive number of seconds,"
                    + " got " + logStatsInterval);
        }
        return new RequestLogging(!noAccessLog, Duration.ofMillis((long) (logStatsInterval * 1000)));
    }

    Running start() throws Exception {
        RequestLogging logging = logging();
        if (!(readTimeout > 0)) {
            throw new IllegalArgumentException("--read-timeout must be a positive number of seconds, got "
                    + readTimeout);
        }
        ServerConfig config = new ServerConfig(host, port, apiKey != null ? apiKey : System.getenv("TESSERA_API_KEY"),
                engineOptions.maxSeqs + maxQueue, EngineOptions.parseBytes("--max-body-size", maxBodySize),
                Duration.ofMillis((long) (shutdownGrace * 1000)), Duration.ofMillis((long) (readTimeout * 1000)),
                allowedOrigins, maxPrompts);
        String template = chatTemplate == null ? null : readChatTemplate(chatTemplate);
        if (quantize.type != null && cluster.layout().distributed()) {
            // the workers map the file themselves; they would run it unquantized
            throw new IllegalArgumentException("--quantize applies to a model served in this process; with --tp/--pp "
                    + "convert it first (tessera convert --type " + quantize.type + ") and serve the GGUF file");
        }
        LoadedModel loaded = modelOptions.open(quantize);
        Parallel parallel = null;
        Executor executor = null;
        Engine engine = null;
        DraftModel draft = null;
        KvConnector connector = KvConnector.NONE;
        try {
            parallel = new Parallel(modelOptions.threads());
            int contextLength = contextLength(loaded.model().config().contextLength());
            executor = createExecutor(loaded, parallel, contextLength);
            EngineConfig engineConfig = engineOptions.config(loaded.eosTokenIds());
            draft = engineOptions.speculation.openDraft(loaded.tokenizer(), loaded.model().config().vocabSize(),
                    parallel, engineOptions.kvType(), engineOptions.blockSize, executor.numBlocks());
            connector = kvTransfer.open(executor, host, cluster);
            engine = new Engine(executor, engineConfig, Detokenizer.of(loaded.tokenizer()), draft, connector);
            String name = servedModelName != null ? servedModelName : defaultName();
            ServedModel served = ServedModel.of(name, loaded.tokenizer(), contextLength,
                    template != null ? template : loaded.chatTemplate()).withPooling(pooling(modelOptions.model()));
            served.chatTemplate().probe().ifPresent(w -> System.err.println("tessera serve: warning: " + w));
            warmUp(engine, loaded.model().config().vocabSize(), served.contextLength());
            TesseraServer server = new TesseraServer(engine, served, config, logging).start();
            System.err.printf(Locale.ROOT, "tessera serve: %s (context %d, chat template: %s, embeddings: %s) on %s;"
                    + " %s%n", name, served.contextLength(), template != null ? chatTemplate.toString()
                    : loaded.chatTemplate() == null ? "fallback" : "model's",
                    engine.supportsEmbeddings() ? served.pooling().lowerName() + " pooling" : "none (--tp/--pp)",
                    server.baseUrl(), executor.describe());
            return new Running(server, engine, executor, parallel, loaded, connector);
        } catch (Exception | Error e) {
            if (engine != null) {
                engine.close(); // closes the draft too
            } else if (draft != null) {
                draft.close();
            }
            if (connector instanceof AutoCloseable c) {
                c.close();
            }
            if (executor != null) {
                executor.close();
            }
            if (parallel != null) {
                parallel.close();
            }
            loaded.close();
            throw e;
        }
    }

    /**
     * Runs one short greedy generation before the server says it is ready, so that the JIT has compiled
     * the prefill and decode paths (kernels, scheduler, sampler, detokenizer) and the first client's
     * time to first token is not spent compiling them.
     */
    static void warmUp(Engine engine, int vocabSize, int contextLength) throws Exception {
        int promptLength = Math.max(1, Math.min(WARM_UP_PROMPT, contextLength - WARM_UP_OUTPUT));
        int[] prompt = new int[promptLength];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 1 + i % Math.max(1, vocabSize - 1);
        }
        long start = System.nanoTime();
        GenerateParams params = new GenerateParams(SamplingParams.greedy(), WARM_UP_OUTPUT, 1, null, null, true, -1);
        Completion done = engine.submit(new GenerateRequest("warm-up", prompt, params)).result().get();
        if (done.error() != null) {
            throw new IllegalStateException("the warm-up generation failed: " + done.error());
        }
        System.err.printf(Locale.ROOT, "tessera serve: warmed up (%d + %d tokens) in %.1f s%n", promptLength,
                WARM_UP_OUTPUT, (System.nanoTime() - start) / 1e9);
    }

    private static final int WARM_UP_PROMPT = 32;
    private static final int WARM_UP_OUTPUT = 4;

    /**
     * The embeddings' pooling: {@code --pooling}, else the GGUF file's {@code <arch>.pooling_type}
     * (as llama.cpp reads it; a value Tessera does not pool by is warned about), else
     * {@link Pooling#DEFAULT}.
     */
    Pooling pooling(Path model) throws IOException {
        if (pooling != null) {
            return Pooling.parse(pooling);
        }
        if (Files.isRegularFile(model) && ModelLoader.detect(model) == ModelLoader.Format.GGUF) {
            try (GgufFile gguf = GgufFile.open(model)) {
                String arch = gguf.metadata().getString("general.architecture", "");
                var code = gguf.metadata().findLong(arch + ".pooling_type");
                if (code.isPresent()) {
                    try {
                        return Pooling.ofLlamaCpp(code.getAsLong());
                    } catch (IllegalArgumentException e) {
                        // the model still generates; only its embeddings fall back
                        System.err.println("tessera serve: warning: " + arch + ".pooling_type: " + e.getMessage()
                                + "; /v1/embeddings pools by " + Pooling.DEFAULT.lowerName());
                    }
                }
            }
        }
        return Pooling.DEFAULT;
    }

    /** The served context: the model's, or {@code --max-model-len} below it. */
    int contextLength(int modelContext) {
        if (maxModelLen == null) {
            return modelContext;
        }
        if (maxModelLen < 1) {
            throw new IllegalArgumentException("--max-model-len must be a positive number of tokens, got "
                    + maxModelLen);
        }
        if (maxModelLen > modelContext) {
            throw new IllegalArgumentException("--max-model-len " + maxModelLen + " is more than the model's context"
                    + " length of " + modelContext + " tokens");
        }
        return maxModelLen;
    }

    /** The --chat-template file's text, checked to be a template before the model is loaded. */
    static String readChatTemplate(Path file) {
        String text;
        try {
            byte[] bytes = Files.readAllBytes(file);
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("--chat-template " + file + " is not UTF-8 text");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --chat-template " + file + ": " + e.getMessage());
        }
        if (text.isBlank()) {
            throw new IllegalArgumentException("--chat-template " + file + " is empty");
        }
        new ChatTemplate(text, "", "").syntaxError().ifPresent(error -> {
            throw new IllegalArgumentException("--chat-template " + file + " is not a valid template: " + error);
        });
        return text;
    }

    /**
     * The one place the executor is built, over a KV cache sized for sequences of {@code contextLength}
     * tokens: in this process, or over worker processes with --tp/--pp (started here on loopback, or --workers).
     */
    Executor createExecutor(LoadedModel loaded, Parallel parallel, int contextLength) throws java.io.IOException {
        KvCacheBudget budget = engineOptions.kvBudget(loaded.model(), contextLength, "tessera serve");
        System.err.println("tessera serve: KV cache " + budget.describe(engineOptions.kvType()));
        return io.tessera.cluster.ExecutorFactory.open(loaded.model(), modelOptions.model(), parallel,
                engineOptions.kvType(), engineOptions.blockSize, budget.bytes(), cluster.layout(),
                engineOptions.kvOffload()).executor();
    }

    private String defaultName() {
        String f = modelOptions.model().getFileName().toString();
        if (java.nio.file.Files.isDirectory(modelOptions.model())) {
            return f; // a checkpoint directory's name is the model's (Qwen2.5-0.5B has no extension)
        }
        int dot = f.lastIndexOf('.');
        return dot > 0 ? f.substring(0, dot) : f;
    }
}
