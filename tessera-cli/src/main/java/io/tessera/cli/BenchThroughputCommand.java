package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.benchmarks.engine.ThroughputBenchmark;
import io.tessera.cluster.DistributedExecutor;
import io.tessera.cluster.ExecutorFactory;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.executor.Executor;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera bench throughput}: opens the model and the executor its options ask for (local or
 * a cluster) and runs {@link ThroughputBenchmark} on it.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true,
        defaultValueProvider = BenchThroughputCommand.Lengths.class,
        description = "Offline throughput: N requests of random token prompts, all queued at once, run by the "
                + "engine (continuous batching) to the end. Reports requests/s, tokens/s, time to first token "
                + "and KV cache statistics. --max-seqs 1 gives the one-after-another baseline.")
final class BenchThroughputCommand implements Callable<Integer> {

    /** Short prompts and long outputs: a decode-bound workload. */
    static final class Lengths extends LengthOptions.Defaults {
        Lengths() {
            super(32, 256);
        }
    }

    @Mixin
    BenchModelOptions run;

    @Option(names = "--num-prompts", defaultValue = "64", paramLabel = "N",
            description = "Requests (default: ${DEFAULT-VALUE}).")
    int numPrompts;

    @Mixin
    LengthOptions lengths;

    @Option(names = "--prefix-len", defaultValue = "0", paramLabel = "N",
            description = "Tokens of a prefix shared by every prompt, before its own input-len tokens "
                    + "(default: ${DEFAULT-VALUE}).")
    int prefixLen;

    @Option(names = "--prompt-period", defaultValue = "0", paramLabel = "N",
            description = "Each prompt's own tokens repeat a random passage of N tokens, a text to copy for "
                    + "--speculative-method ngram (default: ${DEFAULT-VALUE}: no repetition).")
    int promptPeriod;

    @Mixin
    EngineOptions engine;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Prompt seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--json", description = "Print one JSON object on standard output (the report goes to stderr).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ThroughputBenchmark bench = new ThroughputBenchmark(numPrompts, lengths.mix(), prefixLen, promptPeriod, seed);
        run.kernels.apply();
        PrintStream report = json ? System.err : System.out;
        try (Model m = ModelLoader.load(run.model); Parallel parallel = new Parallel(run.threads())) {
            ModelConfig cfg = m.config();
            long budget = engine.kvBudget(m, Math.min(bench.longestRequest(), cfg.contextLength()),
                    "tessera bench throughput").bytes();
            try (ExecutorFactory.Opened opened = ExecutorFactory.open(m, run.model, parallel, engine.kvType(),
                    engine.blockSize, budget, cluster.layout(), engine.kvOffload())) {
                Executor executor = opened.executor();
                EngineConfig config = engine.config();
                GenerateRequest[] requests = bench.requests(cfg.vocabSize());
                DraftModel draft = engine.speculation.speculativeModel == null ? null
                        : engine.speculation.openDraft(targetTokenizer(), cfg.vocabSize(), parallel, engine.kvType(),
                                engine.blockSize, executor.numBlocks());
                report.printf(Locale.ROOT, "model %s: %s, %d layers, dim %d, vocab %d; %s%n", run.model.getFileName(),
                        cfg.architecture(), cfg.layers(), cfg.dim(), cfg.vocabSize(), executor.describe());
                ThroughputBenchmark.warmUp(executor, config, draft);
                ClusterReport.Snapshot before = executor instanceof DistributedExecutor d ? ClusterReport.snapshot(d)
                        : null;
                ThroughputBenchmark.Result r = ThroughputBenchmark.run(executor, config, requests, draft);
                if (draft != null) {
                    draft.close();
                }
                Map<String, Object> out = ThroughputBenchmark.summarize(settings(), cfg, executor, r, requests);
                if (before != null) {
                    ClusterReport.add(out, (DistributedExecutor) executor, cfg, r.stats(), r.run().nanos(), before);
                    ClusterReport.print(report, out);
                }
                ThroughputBenchmark.print(report, out);
                if (json) {
                    System.out.println(new ObjectMapper().writeValueAsString(out));
                }
            }
        }
        return 0;
    }

    /** What was run, as the JSON result's first fields name it. */
    private Map<String, Object> settings() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", run.model.toString());
        o.put("max_seqs", engine.maxSeqs);
        o.put("max_batched_tokens", engine.maxBatchedTokens);
        o.put("prefix_caching", !engine.noPrefixCaching);
        o.put("kv_cache_dtype", engine.kvCacheDtype);
        o.put("threads", run.threads());
        o.put("kernels", Kernels.name());
        o.put("prompt_period", promptPeriod);
        o.put("speculative_method", engine.speculation.method());
        o.put("speculative_model", engine.speculation.speculativeModel == null ? null
                : engine.speculation.speculativeModel.toString());
        o.put("num_speculative_tokens", engine.config().speculative().numSpeculativeTokens());
        return o;
    }

    /** The model's tokenizer, to compare with a draft model's: only a GGUF file carries one. */
    private Tokenizer targetTokenizer() throws IOException {
        if (ModelLoader.detect(run.model) != ModelLoader.Format.GGUF) {
            throw new IllegalArgumentException("--speculative-model: the model's tokenizer is compared with the "
                    + "draft's, so the model must be a GGUF file; " + run.model + " is not");
        }
        return Tokenizers.open(run.model);
    }
}
