package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.forward.KvCache;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.kernel.Kernels;
import io.tessera.core.model.LoadedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * {@code tessera bench offline}: prefill and decode speed of one model file on this machine, with
 * no server in the way. Prefill is one forward pass over a prompt of random token ids (its time is
 * the time to first token); decode at batch B runs B independent sequences one token per step
 * each (greedy), from an empty cache, like llama.cpp's {@code tg} measurement. Every measurement
 * is preceded by an untimed warm-up of the same shapes, so the JIT has compiled the kernels.
 */
@Command(name = "offline", mixinStandardHelpOptions = true,
        description = "Prefill and decode tokens/s, load time and peak memory of a model file.")
final class BenchOfflineCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "Model file (GGUF).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer, for llama2.c checkpoints only.")
    Path tokenizer;

    @Option(names = "--input-len", paramLabel = "N", defaultValue = "128",
            description = "Prompt length for the prefill measurement (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--output-len", paramLabel = "N", defaultValue = "128",
            description = "Tokens generated per sequence in the decode measurements (default: ${DEFAULT-VALUE}).")
    int genTokens;

    // the names before --input-len/--output-len (the other bench commands' names); kept for old scripts
    @Option(names = "--prompt-tokens", hidden = true, paramLabel = "N", description = "Old name of --input-len.")
    Integer promptTokensAlias;

    @Option(names = "--gen-tokens", hidden = true, paramLabel = "N", description = "Old name of --output-len.")
    Integer genTokensAlias;

    @Option(names = "--batch", paramLabel = "B[,B...]", split = ",", defaultValue = "1,8,32",
            description = "Decode batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "2",
            description = "Timed runs of each measurement; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--kv-cache-dtype", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache precision: " + KvCacheType.CHOICES + " (default: ${DEFAULT-VALUE}, as the engine).")
    String kvCacheDtype;

    @Option(names = "--json", description = "Print one JSON object on standard output instead of a table.")
    boolean json;

    @Mixin
    KernelOptions kernels;

    /**
     * One line on standard error per finished step, so that a run of minutes is not silent; the
     * result itself goes to standard output.
     */
    private static void progress(String format, Object... args) {
        System.err.println("tessera bench offline: " + String.format(Locale.ROOT, format, args));
    }

    private static final int BLOCK = 16;

    @Override
    public Integer call() throws IOException {
        if (promptTokensAlias != null) {
            promptTokens = promptTokensAlias;
        }
        if (genTokensAlias != null) {
            genTokens = genTokensAlias;
        }
        if (promptTokens < 1 || genTokens < 1 || repeat < 1 || batches.stream().anyMatch(b -> b < 1)) {
            throw new IllegalArgumentException("--input-len, --output-len, --repeat and --batch must be positive");
        }
        int nThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        int maxBatch = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
        int perSeqBlocks = (Math.max(promptTokens, genTokens) + BLOCK - 1) / BLOCK;
        KvCacheType kvType = KvCacheType.parse(kvCacheDtype);
        int kvBlocks = perSeqBlocks * maxBatch;
        // the serving engine's cache: off-heap, paged, half precision by default
        kernels.apply();
        long loadStart = System.nanoTime();
        try (LoadedModel loaded = LoadedModel.open(model, tokenizer); Parallel parallel = new Parallel(nThreads);
                PagedKvCache cache = new PagedKvCache(loaded.model().config(), kvType, kvBlocks, BLOCK)) {
            ModelConfig cfg = loaded.model().config();
            if (Math.max(promptTokens, genTokens) > cfg.contextLength()) {
                throw new IllegalArgumentException("--input-len/--output-len exceed the model's context of "
                        + cfg.contextLength());
            }
            DecoderForward forward = new DecoderForward(loaded.model(), parallel);
            Random rnd = new Random(1);
            progress("loaded %s in %.1f s; warming up", model.getFileName(), (System.nanoTime() - loadStart) / 1e9);

            // warm-up: every shape once, untimed
            prefill(forward, cache, cfg, rnd, Math.min(promptTokens, 32), perSeqBlocks);
            for (int b : batches) {
                decode(forward, cache, cfg, rnd, b, Math.min(genTokens, 4), perSeqBlocks);
            }

            double prefillSeconds = Double.MAX_VALUE;
            for (int r = 0; r < repeat; r++) {
                double seconds = prefill(forward, cache, cfg, rnd, promptTokens, perSeqBlocks);
                prefillSeconds = Math.min(prefillSeconds, seconds);
                progress("prefill of %d tokens, run %d of %d: %.1f tokens/s", promptTokens, r + 1, repeat,
                        promptTokens / seconds);
            }
            Map<Integer, Double> decodeRate = new LinkedHashMap<>();
            for (int b : batches) {
                double best = Double.MAX_VALUE;
                for (int r = 0; r < repeat; r++) {
                    double seconds = decode(forward, cache, cfg, rnd, b, genTokens, perSeqBlocks);
                    best = Math.min(best, seconds);
                    progress("decode at batch %d, run %d of %d: %.1f tokens/s", b, r + 1, repeat,
                            b * genTokens / seconds);
                }
                decodeRate.put(b, (double) b * genTokens / best);
            }
            long weightBytes = Files.size(model);
            long kvBytes = PagedKvCache.bytes(cfg, kvType, kvBlocks, BLOCK);
            long rss = peakRss();
            double prefillRate = promptTokens / prefillSeconds;
            // matrix-product work: every token through each layer's projections; the output head
            // once per prompt (its last token) and once per decoded token
            double layerFlops = 2.0 * cfg.layerMatrixWeights();
            double headFlops = 2.0 * cfg.vocabSize() * cfg.dim();
            double prefillGflops = prefillRate * (layerFlops + headFlops / promptTokens) / 1e9;
            double decodeGflopsPerToken = (layerFlops + headFlops) / 1e9;
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("engine", "tessera");
                o.put("model", model.toString());
                o.put("threads", nThreads);
                o.put("kernels", Kernels.name());
                o.put("prompt_tokens", promptTokens);
                o.put("gen_tokens", genTokens);
                o.put("load_seconds", loaded.loadNanos() / 1e9);
                o.put("prefill_tokens_per_s", prefillRate);
                o.put("ttft_ms", prefillSeconds * 1e3);
                Double one = decodeRate.get(1);
                if (one != null) {
                    o.put("decode_tokens_per_s", one);
                } else {
                    o.putNull("decode_tokens_per_s");
                }
                ObjectNode by = o.putObject("decode_tokens_per_s_by_batch");
                decodeRate.forEach((b, v) -> by.put(Integer.toString(b), v));
                o.put("layer_flop_per_token", layerFlops);
                o.put("head_flop_per_token", headFlops);
                o.put("prefill_gflop_per_s", prefillGflops);
                ObjectNode gby = o.putObject("decode_gflop_per_s_by_batch");
                decodeRate.forEach((b, v) -> gby.put(Integer.toString(b), v * decodeGflopsPerToken));
                o.put("peak_rss_bytes", rss);
                o.put("model_file_bytes", weightBytes);
                o.put("kv_cache_bytes", kvBytes);
                o.put("kv_cache_dtype", kvType.name().toLowerCase(Locale.ROOT));
                System.out.println(mapper.writeValueAsString(o));
            } else {
                System.out.printf("model        %s (%.2f GB)%n", model, weightBytes / 1e9);
                System.out.printf("threads      %d%n", nThreads);
                System.out.printf("kernels      %s%n", Kernels.name());
                System.out.printf("load         %.2f s%n", loaded.loadNanos() / 1e9);
                System.out.printf("prefill      %d tokens: %.1f tokens/s (time to first token %.0f ms), %.1f GFLOP/s%n",
                        promptTokens, prefillRate, prefillSeconds * 1e3, prefillGflops);
                decodeRate.forEach((b, v) -> System.out.printf("decode       batch %-3d %.1f tokens/s, %.1f GFLOP/s%n", b, v,
                        v * decodeGflopsPerToken));
                System.out.printf("peak RSS     %.2f GB (model file %.2f GB + KV cache %.2f GB)%n", rss / 1e9,
                        weightBytes / 1e9, kvBytes / 1e9);
            }
        }
        return 0;
    }

    private static int[] table(int seq, int blocks) {
        int[] t = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            t[i] = seq * blocks + i;
        }
        return t;
    }

    /** Seconds to the first token of a prompt of n random tokens. */
    private static double prefill(DecoderForward forward, KvCache cache, ModelConfig cfg, Random rnd, int n,
            int blocks) {
        int[] prompt = new int[n];
        for (int i = 0; i < n; i++) {
            prompt[i] = rnd.nextInt(cfg.vocabSize());
        }
        long t0 = System.nanoTime();
        float[] logits = forward.forward(ForwardBatch.single(table(0, blocks), prompt, 0, ForwardBatch.Logits.LAST),
                cache);
        argmax(logits, 0, cfg.vocabSize());
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds for `steps` decode steps of `batch` sequences from an empty cache. */
    private static double decode(DecoderForward forward, KvCache cache, ModelConfig cfg, Random rnd, int batch,
            int steps, int blocks) {
        int[] next = new int[batch];
        for (int s = 0; s < batch; s++) {
            next[s] = rnd.nextInt(cfg.vocabSize());
        }
        List<int[]> tables = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            tables.add(table(s, blocks));
        }
        long t0 = System.nanoTime();
        for (int pos = 0; pos < steps; pos++) {
            ForwardBatch.Builder b = ForwardBatch.builder();
            for (int s = 0; s < batch; s++) {
                b.add(tables.get(s), new int[] {next[s]}, pos, ForwardBatch.Logits.LAST);
            }
            float[] logits = forward.forward(b.build(), cache);
            for (int s = 0; s < batch; s++) {
                next[s] = argmax(logits, s * cfg.vocabSize(), cfg.vocabSize());
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
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
