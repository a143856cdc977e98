package io.tessera.benchmarks.engine;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * {@code tessera bench offline}: prefill and decode speed of one model file on this machine, with
 * no server in the way, through the engine's one generation loop. Prefill is a batch of one: a
 * prompt of random token ids generating one token (its time is the time to first token). Decode
 * at batch B runs B requests of a one-token prompt, greedy, to the output length, from an empty
 * cache: every step is B tokens at the same position, like llama.cpp's {@code tg} measurement.
 * Every measurement is preceded by an untimed warm-up of the same shapes, so the JIT has compiled
 * the kernels; of the timed runs the best is reported.
 *
 * @param batches the decode batch sizes
 * @param repeat timed runs of each measurement
 */
public record OfflineBenchmark(int inputLen, int outputLen, List<Integer> batches, int repeat, KvCacheType kvType) {

    private static final int BLOCK = 16;

    public OfflineBenchmark {
        if (inputLen < 1 || outputLen < 1 || repeat < 1 || batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
            throw new IllegalArgumentException("--input-len, --output-len, --repeat and --batch must be positive");
        }
        batches = List.copyOf(batches);
    }

    /**
     * What a run measured.
     *
     * @param prefillSeconds the best time to first token of the prompt
     * @param decodeRate tokens/s by batch size, the best run of each
     */
    public record Result(double prefillSeconds, Map<Integer, Double> decodeRate, long kvCacheBytes) {
    }

    /** Measures {@code model}; one line per finished step goes to {@code progress}. */
    public Result run(Model model, Parallel parallel, Consumer<String> progress) {
        ModelConfig cfg = model.config();
        int longest = Math.max(inputLen, outputLen) + 1;
        if (longest > cfg.contextLength()) {
            throw new IllegalArgumentException("--input-len/--output-len exceed the model's context of "
                    + cfg.contextLength());
        }
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        // every sequence of the largest batch at its longest, and a block each to spare for the watermark
        int kvBlocks = maxBatch * ((longest + BLOCK - 1) / BLOCK + 1);
        EngineConfig config = new EngineConfig(new SchedulerConfig(Math.max(inputLen, Math.max(maxBatch,
                SchedulerConfig.DEFAULT_MAX_BATCHED_TOKENS)), maxBatch, 0.01), false, new int[0]);
        try (LocalExecutor executor = new LocalExecutor(model, parallel, kvType, BLOCK, kvBlocks)) {
            EngineCore core = new EngineCore(executor, config, null);
            Random rnd = new Random(1);
            int vocab = cfg.vocabSize();
            // warm-up: every shape once, untimed
            prefill(core, rnd, vocab, Math.min(inputLen, 32));
            for (int b : batches) {
                decode(core, rnd, vocab, b, Math.min(outputLen, 4));
            }
            double prefillSeconds = Double.MAX_VALUE;
            for (int r = 0; r < repeat; r++) {
                double seconds = prefill(core, rnd, vocab, inputLen);
                prefillSeconds = Math.min(prefillSeconds, seconds);
                progress.accept(String.format(Locale.ROOT, "prefill of %d tokens, run %d of %d: %.1f tokens/s",
                        inputLen, r + 1, repeat, inputLen / seconds));
            }
            Map<Integer, Double> decodeRate = new LinkedHashMap<>();
            for (int b : batches) {
                double best = Double.MAX_VALUE;
                for (int r = 0; r < repeat; r++) {
                    double seconds = decode(core, rnd, vocab, b, outputLen);
                    best = Math.min(best, seconds);
                    progress.accept(String.format(Locale.ROOT, "decode at batch %d, run %d of %d: %.1f tokens/s", b,
                            r + 1, repeat, b * outputLen / seconds));
                }
                decodeRate.put(b, (double) b * outputLen / best);
            }
            return new Result(prefillSeconds, decodeRate, executor.blockBytes() * executor.numBlocks());
        }
    }

    /** Seconds to the first token of a prompt of n random tokens, a batch of one. */
    private static double prefill(EngineCore core, Random rnd, int vocab, int n) {
        return EngineRun.toEnd(core, request("prefill", tokens(rnd, vocab, n), 1)).firstTokenNanos()[0] / 1e9;
    }

    /** Seconds for {@code batch} one-token prompts to generate {@code steps} tokens each: steps steps of batch tokens. */
    private static double decode(EngineCore core, Random rnd, int vocab, int batch, int steps) {
        GenerateRequest[] requests = new GenerateRequest[batch];
        for (int s = 0; s < batch; s++) {
            requests[s] = request("decode-" + s, tokens(rnd, vocab, 1), steps);
        }
        return EngineRun.toEnd(core, requests).nanos() / 1e9;
    }

    private static GenerateRequest request(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, GenerateParams.greedy(maxTokens).withIgnoreEos(true));
    }

    private static int[] tokens(Random rnd, int vocab, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rnd.nextInt(vocab - 3);
        }
        return t;
    }

    /**
     * The JSON result, as {@code bench/compare.sh} reads it beside llama.cpp's.
     *
     * @param loadSeconds the model's load time
     */
    public Map<String, Object> summarize(Result r, Path modelFile, ModelConfig cfg, int threads, double loadSeconds)
            throws IOException {
        MatmulFlops flops = MatmulFlops.of(cfg);
        double prefillRate = inputLen / r.prefillSeconds();
        // the output head once per prompt (its last token) and once per decoded token
        double prefillGflops = prefillRate * (flops.perTokenLayers() + flops.perLogitsRow() / inputLen) / 1e9;
        double decodeGflopsPerToken = flops.of(1, 1) / 1e9;
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("engine", "tessera");
        o.put("model", modelFile.toString());
        o.put("threads", threads);
        o.put("kernels", Kernels.name());
        o.put("prompt_tokens", inputLen);
        o.put("gen_tokens", outputLen);
        o.put("load_seconds", loadSeconds);
        o.put("prefill_tokens_per_s", prefillRate);
        o.put("ttft_ms", r.prefillSeconds() * 1e3);
        o.put("decode_tokens_per_s", r.decodeRate().get(1));
        o.put("decode_tokens_per_s_by_batch", byBatch(r.decodeRate(), 1));
        o.put("layer_flop_per_token", flops.perTokenLayers());
        o.put("head_flop_per_token", flops.perLogitsRow());
        o.put("prefill_gflop_per_s", prefillGflops);
        o.put("decode_gflop_per_s_by_batch", byBatch(r.decodeRate(), decodeGflopsPerToken));
        o.put("peak_rss_bytes", peakRss());
        o.put("model_file_bytes", Files.size(modelFile));
        o.put("kv_cache_bytes", r.kvCacheBytes());
        o.put("kv_cache_dtype", kvType.name().toLowerCase(Locale.ROOT));
        return o;
    }

    private static Map<String, Double> byBatch(Map<Integer, Double> rates, double scale) {
        Map<String, Double> m = new LinkedHashMap<>();
        rates.forEach((b, v) -> m.put(Integer.toString(b), v * scale));
        return m;
    }

    /** The table of a result. */
    @SuppressWarnings("unchecked")
    public static void print(PrintStream out, Map<String, Object> o) {
        long weightBytes = (long) o.get("model_file_bytes");
        out.printf(Locale.ROOT, "model        %s (%.2f GB)%n", o.get("model"), weightBytes / 1e9);
        out.printf(Locale.ROOT, "threads      %d%n", o.get("threads"));
        out.printf(Locale.ROOT, "kernels      %s%n", o.get("kernels"));
        out.printf(Locale.ROOT, "load         %.2f s%n", o.get("load_seconds"));
        out.printf(Locale.ROOT, "prefill      %d tokens: %.1f tokens/s (time to first token %.0f ms), %.1f GFLOP/s%n",
                o.get("prompt_tokens"), o.get("prefill_tokens_per_s"), o.get("ttft_ms"), o.get("prefill_gflop_per_s"));
        Map<String, Double> gflops = (Map<String, Double>) o.get("decode_gflop_per_s_by_batch");
        ((Map<String, Double>) o.get("decode_tokens_per_s_by_batch")).forEach((b, v) -> out.printf(Locale.ROOT,
                "decode       batch %-3s %.1f tokens/s, %.1f GFLOP/s%n", b, v, gflops.get(b)));
        out.printf(Locale.ROOT, "peak RSS     %.2f GB (model file %.2f GB + KV cache %.2f GB)%n",
                (long) o.get("peak_rss_bytes") / 1e9, weightBytes / 1e9, (long) o.get("kv_cache_bytes") / 1e9);
    }

    /** The process's peak resident set (VmHWM), or -1 where /proc is not available. */
    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
