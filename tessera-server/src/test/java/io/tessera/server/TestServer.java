package io.tessera.server;

import io.tessera.engine.executor.ForwardingExecutor;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.executor.StepInput;
import io.tessera.engine.executor.StepResult;
import java.io.IOException;
import java.time.Duration;

/** stories260K behind an engine and a server on a free loopback port. */
final class TestServer implements AutoCloseable {

    static final String MODEL = "stories260K";

    final LoadedModel loaded;
    final Parallel parallel;
    final LocalExecutor executor;
    final Engine engine;
    final TesseraServer server;

    TestServer(ServerConfig config) throws IOException {
        this(config, io.tessera.engine.scheduler.SchedulerConfig.DEFAULT_MAX_SEQS);
    }

    /** With at most {@code maxSeqs} requests running at once (1 makes the others wait). */
    TestServer(ServerConfig config, int maxSeqs) throws IOException {
        this(config, maxSeqs, Duration.ZERO);
    }

    /**
     * With every engine step taking at least {@code stepDelay}: a lower bound on how long a request
     * runs, however fast the machine.
     */
    TestServer(ServerConfig config, int maxSeqs, Duration stepDelay) throws IOException {
        this(config, maxSeqs, stepDelay, RequestLogging.defaults());
    }

    /** Logging as {@code logging} says. */
    TestServer(ServerConfig config, RequestLogging logging) throws IOException {
        this(config, io.tessera.engine.scheduler.SchedulerConfig.DEFAULT_MAX_SEQS, Duration.ZERO, logging);
    }

    TestServer(ServerConfig config, int maxSeqs, Duration stepDelay, RequestLogging logging) throws IOException {
        loaded = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
        parallel = new Parallel(1);
        executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 512);
        EngineConfig ec = EngineConfig.defaults(loaded.tokenizer().eos());
        engine = new Engine(stepDelay.isZero() ? executor : new SlowExecutor(executor, stepDelay),
                ec.withScheduler(ec.scheduler().withMaxSeqs(maxSeqs)), Detokenizer.of(loaded.tokenizer()));
        ServedModel served = ServedModel.of(MODEL, loaded.tokenizer(), loaded.model().config().contextLength(),
                loaded.chatTemplate());
        server = new TesseraServer(engine, served, config, logging).start();
    }

    String url() {
        return server.baseUrl();
    }

    /** An executor whose steps take at least a given time. */
    private static final class SlowExecutor extends ForwardingExecutor {
        private final Duration delay;

        SlowExecutor(Executor inner, Duration delay) {
            super(inner);
            this.delay = delay;
        }

        @Override
        public StepResult execute(StepInput input) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return inner.execute(input);
        }
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        executor.close();
        parallel.close();
        loaded.close();
    }
}
