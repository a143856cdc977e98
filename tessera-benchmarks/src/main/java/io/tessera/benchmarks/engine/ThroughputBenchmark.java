package io.tessera.benchmarks.engine;

import io.tessera.benchmarks.Percentiles;
import io.tessera.benchmarks.serve.WorkloadMix;
import io.tessera.core.format.Units;
import io.tessera.core.model.ModelConfig;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.EngineStats;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.kv.KvStats;
import io.tessera.engine.kv.KvTierStats;
import io.tessera.engine.spec.Drafter;
import io.tessera.engine.spec.SpeculativeStats;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code tessera bench throughput}: offline throughput, like vLLM's throughput benchmark. All
 * requests are queued at once and the engine runs until every one is done; with one sequence at a
 * time ({@code --max-seqs 1}) that is the one-after-another baseline.
 *
 * @param lengths the prompts' own and output lengths
 * @param prefixLen tokens of a prefix shared by every prompt, before its own tokens
 * @param promptPeriod when positive, each prompt's own tokens repeat a random passage of this many
 *     tokens (a text to copy, for prompt-lookup speculation)
 */
public record ThroughputBenchmark(int numPrompts, WorkloadMix lengths, int prefixLen, int promptPeriod, long seed) {

    public ThroughputBenchmark {
        if (numPrompts < 1 || prefixLen < 0) {
            throw new IllegalArgumentException("--num-prompts, --input-len and --output-len must be at least 1");
        }
        if (promptPeriod < 0) {
            throw new IllegalArgumentException("--prompt-period must be 0 or more, got " + promptPeriod);
        }
    }

    /** What a run gave. */
    public record Result(EngineRun run, EngineStats stats, SpeculativeStats spec) {
    }

    /** The longest request (shared prefix, prompt and output), for sizing the KV cache. */
    public int longestRequest() {
        return prefixLen + lengths.longestRequest();
    }

    /** The requests, random token ids in [3, vocab) from the seed; EOS is ignored. */
    public GenerateRequest[] requests(int vocab) {
        Random rnd = new Random(seed);
        int[] prefix = new int[prefixLen];
        for (int i = 0; i < prefixLen; i++) {
            prefix[i] = 3 + rnd.nextInt(vocab - 3);
        }
        WorkloadMix.Entry e = lengths.entries().get(0);
        GenerateRequest[] reqs = new GenerateRequest[numPrompts];
        for (int i = 0; i < numPrompts; i++) {
            int in = e.inputMin() + rnd.nextInt(e.inputMax() - e.inputMin() + 1);
            int out = e.outputMin() + rnd.nextInt(e.outputMax() - e.outputMin() + 1);
            int[] prompt = Arrays.copyOf(prefix, prefixLen + in);
            for (int j = prefixLen; j < prompt.length; j++) {
                prompt[j] = promptPeriod > 0 && j - prefixLen >= promptPeriod ? prompt[j - promptPeriod]
                        : 3 + rnd.nextInt(vocab - 3);
            }
            reqs[i] = new GenerateRequest("bench-" + i, prompt, GenerateParams.greedy(out).withIgnoreEos(true));
        }
        return reqs;
    }

    /** A few short requests through a throwaway engine, so that the timed run is compiled code. */
    public static void warmUp(Executor executor, EngineConfig config, Drafter draft) {
        EngineCore core = new EngineCore(executor, config.withPrefixCaching(false), null, draft);
        GenerateRequest[] warm = new GenerateRequest[4];
        for (int i = 0; i < warm.length; i++) {
            int[] p = new int[8 + i];
            Arrays.fill(p, 3 + i);
            warm[i] = new GenerateRequest("warm-" + i, p, GenerateParams.greedy(4).withIgnoreEos(true));
        }
        EngineRun.toEnd(core, warm);
    }

    /** Runs {@code requests} to their end on a fresh engine over {@code executor}. */
    public static Result run(Executor executor, EngineConfig config, GenerateRequest[] requests, Drafter draft) {
        EngineCore core = new EngineCore(executor, config, null, draft);
        EngineRun run = EngineRun.toEnd(core, requests);
        return new Result(run, core.stats(), core.speculativeStats());
    }

    /** The JSON result: {@code settings} first (what was run), then the measured figures. */
    public static Map<String, Object> summarize(Map<String, Object> settings, ModelConfig cfg, Executor ex, Result r,
            GenerateRequest[] reqs) {
        double secs = r.run().nanos() / 1e9;
        long prompt = 0;
        for (GenerateRequest q : reqs) {
            prompt += q.promptTokens().length;
        }
        long output = r.run().totalOutputTokens();
        double[] ttft = Percentiles.sorted(r.run().firstTokenNanos());
        EngineStats st = r.stats();
        KvStats kv = st.kv();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", settings.get("model"));
        o.put("num_requests", reqs.length);
        o.put("prompt_tokens", prompt);
        o.put("output_tokens", output);
        o.putAll(settings);
        o.put("elapsed_s", secs);
        o.put("requests_per_s", reqs.length / secs);
        o.put("output_tokens_per_s", output / secs);
        o.put("total_tokens_per_s", (prompt + output) / secs);
        o.put("ttft_mean_ms", Percentiles.mean(ttft) / 1e6);
        o.put("ttft_p50_ms", Percentiles.of(ttft, 50) / 1e6);
        o.put("ttft_p99_ms", Percentiles.of(ttft, 99) / 1e6);
        o.put("steps", st.steps());
        o.put("batched_tokens", st.batchedTokens());
        o.put("gflops_per_s", MatmulFlops.of(cfg).of(st.batchedTokens(), st.logitRows()) / 1e9 / secs);
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
        SpeculativeStats spec = r.spec();
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

    /** The text report of a result. */
    public static void print(PrintStream out, Map<String, Object> o) {
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
