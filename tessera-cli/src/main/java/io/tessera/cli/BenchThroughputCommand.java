package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.EngineStats;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.cluster.DistributedExecutor;
import io.tessera.cluster.ExecutorFactory;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.kv.KvStats;
import io.tessera.engine.kv.KvTierStats;
import io.tessera.engine.spec.SpeculativeStats;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera bench throughput}: offline throughput, like vLLM's throughput benchmark. All
 * requests are queued at once and the engine runs until every one is done; with
 * {@code --max-seqs 1} that is the one-after-another baseline.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true,
        description = "Offline throughput: N requests of random token prompts, all queued at once, run by the "
                + "engine (continuous batching) to the end. Reports requests/s, tokens/s, time to first token "
                + "and KV cache statistics. --max-seqs 1 gives the one-after-another baseline.")
final class BenchThroughputCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "Model file (GGUF or llama2.c).")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--num-prompts", defaultValue = "64", paramLabel = "N",
            description = "Requests (default: ${DEFAULT-VALUE}).")
    int numPrompts;

    @Option(names = "--input-len", defaultValue = "32", paramLabel = "N",
            description = "Prompt tokens per request (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", defaultValue = "256", paramLabel = "N",
            description = "Output tokens per request; EOS is ignored (default: ${DEFAULT-VALUE}).")
    int outputLen;

    @Option(names = "--range-ratio", defaultValue = "0", paramLabel = "R",
            description = "Sample each length uniformly in [len·(1-R), len·(1+R)] (default: ${DEFAULT-VALUE}: fixed).")
    double rangeRatio;

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

    @Mixin
    KernelOptions kernels;

    @Option(names = "--expert-load-out", paramLabel = "FILE",
            description = "Write the run's tokens per expert and layer (a mixture-of-experts model) to FILE, for "
                    + "--ep-load.")
    java.nio.file.Path expertLoadOut;

    @Option(names = "--json", description = "Print one JSON object on standard output (the report goes to stderr).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (numPrompts < 1 || inputLen < 1 || outputLen < 1 || prefixLen < 0) {
            throw new IllegalArgumentException("--num-prompts, --input-len and --output-len must be at least 1");
        }
        if (promptPeriod < 0) {
            throw new IllegalArgumentException("--prompt-period must be 0 or more, got " + promptPeriod);
        }
        kernels.apply();
        PrintStream report = json ? System.err : System.out;
        KvCacheType kvType = engine.kvType();
        int nThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        try (Model m = ModelLoader.load(model); Parallel parallel = new Parallel(nThreads)) {
            ModelConfig cfg = m.config();
            int longest = prefixLen + (int) Math.ceil(inputLen * (1 + rangeRatio))
                    + (int) Math.ceil(outputLen * (1 + rangeRatio));
            long budget = engine.kvBudget(m, Math.min(longest, cfg.contextLength()), "tessera bench throughput").bytes();
            try (ExecutorFactory.Opened opened = ExecutorFactory.open(m, model, parallel, kvType, engine.blockSize, budget,
                    cluster.layout(), engine.kvOffload())) {
                Executor executor = opened.executor();
                EngineConfig config = engine.config();
                GenerateRequest[] requests = workload(cfg);
                DraftModel draft = engine.speculation.speculativeModel == null ? null
                        : engine.speculation.openDraft(targetTokenizer(), cfg.vocabSize(), parallel, kvType,
                                engine.blockSize, executor.numBlocks());
                report.printf(Locale.ROOT, "model %s: %s, %d layers, dim %d, vocab %d; %s%n", model.getFileName(),
                        cfg.architecture(), cfg.layers(), cfg.dim(), cfg.vocabSize(), executor.describe());
                warmUp(executor, config, draft);
                ClusterReport.Snapshot before = executor instanceof DistributedExecutor d ? ClusterReport.snapshot(d)
                        : null;
                long[][] loadBefore = executor.expertLoad();
                Result r = run(executor, config, requests, draft);
                long[][] load = io.tessera.cluster.ExpertLoadFile.difference(executor.expertLoad(), loadBefore);
                if (draft != null) {
                    draft.close();
                }
                Map<String, Object> out = summarize(cfg, m, executor, r, requests);
                if (load != null) {
                    out.put("expert_load", load);
                    if (expertLoadOut != null) {
                        io.tessera.cluster.ExpertLoadFile.write(expertLoadOut, load);
                    }
                }
                if (before != null) {
                    ClusterReport.add(out, (DistributedExecutor) executor, cfg, r.stats(), r.nanos(), before);
                    ClusterReport.print(report, out);
                }
                printReport(report, out);
                if (json) {
                    System.out.println(new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(out));
                }
            }
        }
        return 0;
    }

    /** The model's tokenizer, to compare with a draft model's: only a GGUF file carries one. */
    private io.tessera.core.tokenizer.Tokenizer targetTokenizer() throws java.io.IOException {
        if (ModelLoader.detect(model) != ModelLoader.Format.GGUF) {
            throw new IllegalArgumentException("--speculative-model: the model's tokenizer is compared with the "
                    + "draft's, so the model must be a GGUF file; " + model + " is not");
        }
        return io.tessera.core.tokenizer.Tokenizers.open(model);
    }

    private GenerateRequest[] workload(ModelConfig cfg) {
        Random rnd = new Random(seed);
        int vocab = cfg.vocabSize();
        int[] prefix = new int[prefixLen];
        for (int i = 0; i < prefixLen; i++) {
            prefix[i] = 3 + rnd.nextInt(vocab - 3);
        }
        GenerateRequest[] reqs = new GenerateRequest[numPrompts];
        for (int i = 0; i < numPrompts; i++) {
            int in = sampleLen(rnd, inputLen);
            int outLen = sampleLen(rnd, outputLen);
            int[] prompt = Arrays.copyOf(prefix, prefixLen + in);
            for (int j = prefixLen; j < prompt.length; j++) {
                prompt[j] = promptPeriod > 0 && j - prefixLen >= promptPeriod ? prompt[j - promptPeriod]
                        : 3 + rnd.nextInt(vocab - 3);
            }
            reqs[i] = new GenerateRequest("bench-" + i, prompt, GenerateParams.greedy(outLen).withIgnoreEos(true));
        }
        return reqs;
    }

    private int sampleLen(Random rnd, int len) {
        if (rangeRatio <= 0) {
            return len;
        }
        int lo = Math.max(1, (int) Math.floor(len * (1 - rangeRatio)));
        int hi = Math.max(lo, (int) Math.ceil(len * (1 + rangeRatio)));
        return lo + rnd.nextInt(hi - lo + 1);
    }

    /** A few short requests through a throwaway engine, so that the timed run is compiled code. */
    private static void warmUp(Executor executor, EngineConfig config, DraftModel draft) {
        EngineCore core = new EngineCore(executor, config.withPrefixCaching(false), null, draft);
        for (int i = 0; i < 4; i++) {
            int[] p = new int[8 + i];
            Arrays.fill(p, 3 + i);
            core.add(new GenerateRequest("warm-" + i, p, GenerateParams.greedy(4).withIgnoreEos(true)), o -> { });
        }
        while (core.hasWork()) {
            core.step();
        }
    }

    record Result(long nanos, long[] firstTokenNanos, int[] outputTokens, EngineStats stats, SpeculativeStats spec) {
    }

    private static Result run(Executor executor, EngineConfig config, GenerateRequest[] requests, DraftModel draft) {
        EngineCore core = new EngineCore(executor, config, null, draft);
        long[] first = new long[requests.length];
        int[] outputs = new int[requests.length];
        long start = System.nanoTime();
        for (int i = 0; i < requests.length; i++) {
            int k = i;
            core.add(requests[i], o -> {
                if (first[k] == 0 && o.tokenIds().length > 0) {
                    first[k] = System.nanoTime() - start;
                }
                outputs[k] += o.tokenIds().length;
            });
        }
        while (core.hasWork()) {
            core.step();
        }
        return new Result(System.nanoTime() - start, first, outputs, core.stats(), core.speculativeStats());
    }

    private Map<String, Object> summarize(ModelConfig cfg, Model m, Executor ex, Result r,
            GenerateRequest[] reqs) {
        double secs = r.nanos() / 1e9;
        long prompt = 0;
        for (GenerateRequest q : reqs) {
            prompt += q.promptTokens().length;
        }
        long output = Arrays.stream(r.outputTokens()).asLongStream().sum();
        long[] ttft = r.firstTokenNanos().clone();
        Arrays.sort(ttft);
        EngineStats st = r.stats();
        KvStats kv = st.kv();
        // Matmul work: every token through every layer's projections, plus the output head per logits row.
        double flops = 2.0 * cfg.layerMatrixWeights() * st.batchedTokens() + 2.0 * cfg.vocabSize() * cfg.dim() * st.logitRows();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model.toString());
        o.put("num_requests", reqs.length);
        o.put("prompt_tokens", prompt);
        o.put("output_tokens", output);
        o.put("max_seqs", engine.maxSeqs);
        o.put("max_batched_tokens", engine.maxBatchedTokens);
        o.put("prefix_caching", !engine.noPrefixCaching);
        o.put("kv_cache_dtype", engine.kvCacheDtype);
        o.put("threads", threads == null ? Runtime.getRuntime().availableProcessors() : threads);
        o.put("kernels", Kernels.name());
        o.put("elapsed_s", secs);
        o.put("requests_per_s", reqs.length / secs);
        o.put("output_tokens_per_s", output / secs);
        o.put("total_tokens_per_s", (prompt + output) / secs);
        o.put("ttft_mean_ms", Arrays.stream(ttft).average().orElse(0) / 1e6);
        o.put("ttft_p50_ms", ttft[ttft.length / 2] / 1e6);
        o.put("ttft_p99_ms", ttft[Math.min(ttft.length - 1, (int) Math.ceil(ttft.length * 0.99) - 1)] / 1e6);
        o.put("steps", st.steps());
        o.put("batched_tokens", st.batchedTokens());
        o.put("gflops_per_s", flops / 1e9 / secs);
        o.put("preemptions", st.preemptions());
        o.put("kv_blocks_total", kv.totalBlocks());
        o.put("kv_block_size", kv.blockSize());
        o.put("kv_cache_bytes", (long) kv.totalBlocks() * ex.blockBytes());
        o.put("kv_blocks_peak_used", kv.peakUsedBlocks());
        o.put("kv_blocks_cached", kv.cachedBlocks());
        o.put("kv_waste_fraction_peak", kv.peakWasteFraction());
        o.put("prefix_cache_hit_rate", kv.hitRate());
        o.put("kv_restored_blocks", kv.restoredBlocks());
        o.put("kv_offload_tiers", offloadTiers(kv));
        o.put("prompt_period", promptPeriod);
        SpeculativeStats spec = r.spec();
        o.put("speculative_method", engine.speculation.method());
        o.put("speculative_model", engine.speculation.speculativeModel == null ? null
                : engine.speculation.speculativeModel.toString());
        o.put("num_speculative_tokens", engine.config().speculative().numSpeculativeTokens());
        o.put("spec_proposed_tokens", spec.proposedTokens());
        o.put("spec_accepted_tokens", spec.acceptedTokens());
        o.put("spec_acceptance_rate", spec.acceptanceRate());
        double[] perPosition = new double[spec.proposedAt().length];
        for (int i = 0; i < perPosition.length; i++) {
            perPosition[i] = spec.acceptanceRateAt(i);
        }
        o.put("spec_acceptance_rate_per_position", perPosition);
        o.put("spec_tokens_per_step", spec.tokensPerVerifyStep());
        return o;
    }

    /** Each offload tier's counters, as the JSON names them. */
    private static List<Map<String, Object>> offloadTiers(KvStats kv) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (KvTierStats t : kv.offloadTiers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tier", t.tier());
            m.put("hits", t.hits());
            m.put("misses", t.misses());
            m.put("hit_rate", t.hitRate());
            m.put("capacity_bytes", t.capacityBytes());
            m.put("stored_bytes", t.storedBytes());
            m.put("written_bytes", t.writtenBytes());
            m.put("read_bytes", t.readBytes());
            m.put("corrupt", t.corrupt());
            m.put("dropped", t.dropped());
            out.add(m);
        }
        return out;
    }

    private static void printReport(PrintStream out, Map<String, Object> o) {
        out.printf(Locale.ROOT, "%d requests, %d prompt + %d output tokens in %.2f s (threads %d, kernels %s)%n",
                o.get("num_requests"), o.get("prompt_tokens"), o.get("output_tokens"), (double) o.get("elapsed_s"),
                o.get("threads"), o.get("kernels"));
        out.printf(Locale.ROOT, "throughput: %.2f requests/s, %.1f output tokens/s, %.1f total tokens/s, %.1f GFLOP/s%n",
                o.get("requests_per_s"), o.get("output_tokens_per_s"), o.get("total_tokens_per_s"), o.get("gflops_per_s"));
        out.printf(Locale.ROOT, "time to first token: mean %.0f ms, p50 %.0f ms, p99 %.0f ms%n", o.get("ttft_mean_ms"),
                o.get("ttft_p50_ms"), o.get("ttft_p99_ms"));
        out.printf(Locale.ROOT, "steps %d (%d tokens), preemptions %d%n", o.get("steps"), o.get("batched_tokens"),
                o.get("preemptions"));
        if ((long) o.get("spec_proposed_tokens") > 0) {
            out.printf(Locale.ROOT, "speculation %s k=%d: %d proposed, %d accepted (%.1f%%), %.2f tokens per verify"
                            + " step%n", o.get("speculative_method"), o.get("num_speculative_tokens"),
                    o.get("spec_proposed_tokens"), o.get("spec_accepted_tokens"),
                    100 * (double) o.get("spec_acceptance_rate"), o.get("spec_tokens_per_step"));
        }
        out.printf(Locale.ROOT, "KV: %d blocks of %d tokens (%s), peak %d used, %d cached at end; waste at peak %.2f%%;"
                        + " prefix cache hit rate %.1f%%%n",
                o.get("kv_blocks_total"), o.get("kv_block_size"), Units.bytes((long) o.get("kv_cache_bytes")),
                o.get("kv_blocks_peak_used"), o.get("kv_blocks_cached"), 100 * (double) o.get("kv_waste_fraction_peak"),
                100 * (double) o.get("prefix_cache_hit_rate"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tiers = (List<Map<String, Object>>) o.get("kv_offload_tiers");
        for (Map<String, Object> t : tiers) {
            out.printf(Locale.ROOT, "KV offload %s: %d hits, %d misses, %s written, %s read back, %d corrupt, %d dropped%n",
                    t.get("tier"), t.get("hits"), t.get("misses"), Units.bytes((long) t.get("written_bytes")),
                    Units.bytes((long) t.get("read_bytes")), t.get("corrupt"), t.get("dropped"));
        }
    }

}
