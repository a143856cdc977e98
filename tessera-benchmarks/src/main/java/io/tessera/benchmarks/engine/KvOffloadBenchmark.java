package io.tessera.benchmarks.engine;

import io.tessera.benchmarks.Percentiles;
import io.tessera.core.format.Units;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.EngineCore;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.kv.KvOffloadConfig;
import io.tessera.engine.kv.KvTierStats;
import io.tessera.engine.scheduler.SchedulerConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * {@code tessera bench kv-offload}: time to first token of a prompt whose long prefix is computed
 * cold, found in the KV pool, brought back from the memory tier, brought back from the disk tier, or
 * fetched from a peer replica's pool over the KV transfer path ({@link PeerFetchBench}).
 *
 * <p>Two engines over the same model: one with a memory tier, one with only a disk tier. Each round
 * draws a fresh prefix; on the memory engine it runs the prompt cold, again (pool hit), then a
 * filler prompt that takes the whole pool (evicting the prefix to memory) and the prompt again; on
 * the disk engine cold, filler, and the prompt again (restored from disk). The cases alternate
 * within each round, so load on the machine falls on all of them alike. Each timed prompt is the
 * prefix plus fresh suffix tokens, generating one token. The filler is the same prompt every time:
 * computed in the untimed warm-up round, it comes back from the tier afterwards, so evicting the
 * prefix costs copies rather than another long prefill. The peer case computes the prompt cold on
 * a holder replica (a third cold sample) and then runs it on a fetcher replica that fetches the prefix.
 */
public final class KvOffloadBenchmark {

    /**
     * What to measure.
     *
     * @param prefixLen tokens of the shared prefix, at least one block
     * @param suffixLen tokens after the prefix, fresh in every prompt
     * @param rounds timed rounds, after one untimed warm-up round
     * @param diskDir the disk tier's directory; null for a temporary one, removed at the end
     */
    public record Config(int prefixLen, int suffixLen, int rounds, KvCacheType type, int blockSize, Path diskDir,
            long seed) {
        public Config {
            if (prefixLen < blockSize || suffixLen < 1 || rounds < 1 || blockSize < 1) {
                throw new IllegalArgumentException("--prefix-len must hold a block, --suffix-len, --rounds and "
                        + "--block-size must be at least 1");
            }
        }
    }

    private static final String[] CASES = {"cold", "pool", "memory", "disk", "peer"};

    private final Config config;
    private final int prefixLen;
    private final int suffixLen;
    private final int blockSize;
    /** The model's vocabulary size: prompts are random tokens 3..vocab-1. */
    private int vocab;

    public KvOffloadBenchmark(Config config) {
        this.config = config;
        this.prefixLen = config.prefixLen();
        this.suffixLen = config.suffixLen();
        this.blockSize = config.blockSize();
    }

    /** Runs the rounds on {@code m}, one line per round on {@code report}; the result as its JSON names it. */
    public Map<String, Object> run(Model m, Parallel parallel, PrintStream report) throws Exception {
        Path diskDir = config.diskDir() != null ? config.diskDir() : Files.createTempDirectory("tessera-kv-offload-bench");
        try {
            return run(m, parallel, report, diskDir);
        } finally {
            if (config.diskDir() == null) {
                deleteTree(diskDir);
            }
        }
    }

    private Map<String, Object> run(Model m, Parallel parallel, PrintStream report, Path diskDir) throws Exception {
        KvCacheType type = config.type();
        int rounds = config.rounds();
        ModelConfig cfg = m.config();
        int prefixBlocks = prefixLen / blockSize;
        // a filler prompt of the whole pool evicts every cached block of the prefix
        int pool = (prefixLen + suffixLen + blockSize - 1) / blockSize + 2;
        if ((long) pool * blockSize >= cfg.contextLength()) {
            throw new IllegalArgumentException("--prefix-len " + prefixLen + " + --suffix-len " + suffixLen
                    + " leaves no room for a filler prompt in the context of " + cfg.contextLength() + " tokens");
        }
        long blockBytes = PagedKvCache.bytes(cfg, type, 1, blockSize);
        // room for the filler, this round's prefix and the last round's, which the tier drops first
        long tierBlocks = 4L * pool;
        try (LocalExecutor memory = new LocalExecutor(m, parallel, type, blockSize, pool,
                new KvOffloadConfig(tierBlocks * blockBytes, null, 0));
                LocalExecutor disk = new LocalExecutor(m, parallel, type, blockSize, pool,
                        new KvOffloadConfig(0, diskDir, tierBlocks * (blockBytes + 64 + 4L * blockSize)));
                PeerFetchBench peer = new PeerFetchBench(m, parallel, type, blockSize, pool)) {
            report.printf(Locale.ROOT, "model %s: %s, %d layers, dim %d; prefix %d + suffix %d tokens; "
                            + "pool %d blocks of %d tokens (%s each); %d threads%n", m.source().getFileName(),
                    cfg.architecture(), cfg.layers(), cfg.dim(), prefixLen, suffixLen, pool, blockSize,
                    Units.bytes(blockBytes), parallel.threads());
            vocab = cfg.vocabSize();
            Bench onMemory = new Bench(memory);
            Bench onDisk = new Bench(disk);
            Random rnd = new Random(config.seed());
            int[] filler = tokens(rnd, pool * blockSize);
            Map<String, List<Double>> ttft = new LinkedHashMap<>();
            for (String c : CASES) {
                ttft.put(c, new ArrayList<>());
            }
            for (int r = 0; r <= rounds; r++) {
                boolean warmUp = r == 0;
                double[] t = round(onMemory, onDisk, peer, rnd, filler);
                if (!warmUp) {
                    for (int i = 0; i < CASES.length; i++) {
                        ttft.get(CASES[i]).add(t[i]);
                    }
                    report.printf(Locale.ROOT, "round %d: cold %.0f ms, pool %.0f ms, memory %.0f ms, disk %.0f ms, "
                            + "peer %.0f ms%n", r, t[0], t[1], t[2], t[3], t[4]);
                }
            }
            return summary(m, ttft, blockBytes, prefixBlocks, parallel.threads());
        }
    }

    /** One round: cold, pool, memory, disk and peer TTFTs in ms; checks each restore came from where it should. */
    private double[] round(Bench onMemory, Bench onDisk, PeerFetchBench peer, Random rnd, int[] filler)
            throws Exception {
        int[] prefix = tokens(rnd, prefixLen);
        double cold = onMemory.ttft(prompt(prefix, rnd));
        double poolHit = onMemory.ttft(prompt(prefix, rnd));
        onMemory.ttft(filler);
        long before = onMemory.hits("memory");
        double memoryHit = onMemory.ttft(prompt(prefix, rnd));
        expect(onMemory.hits("memory") - before, prefixLen / blockSize, "memory");
        double cold2 = onDisk.ttft(prompt(prefix, rnd));
        onDisk.ttft(filler);
        before = onDisk.hits("disk");
        double diskHit = onDisk.ttft(prompt(prefix, rnd));
        expect(onDisk.hits("disk") - before, prefixLen / blockSize, "disk");
        double cold3 = peer.cold(prompt(prefix, rnd));
        before = peer.fetchedTokens();
        double peerHit = peer.fetched(prompt(prefix, rnd));
        expect((peer.fetchedTokens() - before) / blockSize, prefixLen / blockSize, "peer");
        return new double[] {(cold + cold2 + cold3) / 3, poolHit, memoryHit, diskHit, peerHit};
    }

    private static void expect(long restored, int blocks, String tier) {
        if (restored != blocks) {
            throw new IllegalStateException("the " + tier + " case restored " + restored + " blocks of the prefix's "
                    + blocks + "; the measurement would not be of that case");
        }
    }

    private int[] prompt(int[] prefix, Random rnd) {
        int[] p = Arrays.copyOf(prefix, prefix.length + suffixLen);
        System.arraycopy(tokens(rnd, suffixLen), 0, p, prefix.length, suffixLen);
        return p;
    }

    private int[] tokens(Random rnd, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rnd.nextInt(vocab - 3);
        }
        return t;
    }

    /** An engine over one executor; each prompt runs alone to its one output token. */
    private final class Bench {
        final EngineCore core;
        int next;

        Bench(LocalExecutor executor) {
            this.core = new EngineCore(executor, new EngineConfig(SchedulerConfig.defaults(), true, new int[0]), null);
        }

        /** Milliseconds from submitting the prompt to its first token. */
        double ttft(int[] prompt) {
            EngineRun run = EngineRun.toEnd(core,
                    new GenerateRequest("p" + next++, prompt, GenerateParams.greedy(1).withIgnoreEos(true)));
            return run.firstTokenNanos()[0] / 1e6;
        }

        long hits(String tier) {
            for (KvTierStats t : core.kvStats().offloadTiers()) {
                if (t.tier().equals(tier)) {
                    return t.hits();
                }
            }
            return 0;
        }
    }

    private Map<String, Object> summary(Model m, Map<String, List<Double>> ttft, long blockBytes, int prefixBlocks,
            int nThreads) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", m.source().toString());
        o.put("prefix_len", prefixLen);
        o.put("suffix_len", suffixLen);
        o.put("rounds", config.rounds());
        o.put("threads", nThreads);
        o.put("kv_cache_dtype", config.type().name().toLowerCase(Locale.ROOT));
        o.put("prefix_kv_bytes", blockBytes * prefixBlocks);
        double coldMedian = median(ttft.get("cold"));
        for (String c : CASES) {
            List<Double> v = ttft.get(c);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("ttft_median_ms", median(v));
            s.put("ttft_min_ms", v.stream().mapToDouble(Double::doubleValue).min().orElse(0));
            s.put("ttft_max_ms", v.stream().mapToDouble(Double::doubleValue).max().orElse(0));
            s.put("cold_over_this", coldMedian / median(v));
            s.put("ttft_ms", v);
            o.put(c, s);
        }
        return o;
    }

    /** The summary lines of a result. */
    @SuppressWarnings("unchecked")
    public static void print(PrintStream out, Map<String, Object> o) {
        out.printf(Locale.ROOT, "prefix KV: %s%n", Units.bytes((long) o.get("prefix_kv_bytes")));
        for (String c : CASES) {
            Map<String, Object> s = (Map<String, Object>) o.get(c);
            out.printf(Locale.ROOT, "%-6s TTFT median %8.1f ms (min %.1f, max %.1f); cold / this %.1f×%n", c,
                    s.get("ttft_median_ms"), s.get("ttft_min_ms"), s.get("ttft_max_ms"), s.get("cold_over_this"));
        }
    }

    private static double median(List<Double> v) {
        double m = Percentiles.of(Percentiles.sorted(v), 50);
        return Double.isNaN(m) ? 0 : m;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
