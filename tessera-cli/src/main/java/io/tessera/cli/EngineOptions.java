package io.tessera.cli;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.Model;
import io.tessera.engine.kv.KvOffloadConfig;
import java.nio.file.Path;
import java.util.Locale;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.kv.KvCacheBudget;
import io.tessera.engine.scheduler.SchedulerConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The serving engine's flags (scheduler limits, KV cache size and precision, prefix caching). */
final class EngineOptions {

    @Option(names = "--max-seqs", defaultValue = "" + SchedulerConfig.DEFAULT_MAX_SEQS, paramLabel = "N",
            description = "Sequences running at once (default: ${DEFAULT-VALUE}).")
    int maxSeqs;

    @Option(names = "--max-batched-tokens", defaultValue = "" + SchedulerConfig.DEFAULT_MAX_BATCHED_TOKENS,
            paramLabel = "N", description = "Tokens per step; prompts are chunked to fit (default: ${DEFAULT-VALUE}).")
    int maxBatchedTokens;

    @Option(names = "--kv-cache-memory", paramLabel = "BYTES",
            description = "KV cache size, e.g. 2G or 512M (default: room for --max-seqs full contexts, at most "
                    + "--kv-cache-fraction of the memory left after the weights).")
    String kvCacheMemory;

    @Option(names = "--kv-cache-fraction", defaultValue = "0.25", paramLabel = "F",
            description = "Largest share of physical memory minus weights the KV cache takes when "
                    + "--kv-cache-memory is not given (default: ${DEFAULT-VALUE}).")
    double kvCacheFraction;

    @Option(names = "--kv-cache-dtype", defaultValue = "f16", paramLabel = "TYPE",
            description = "KV cache precision: " + KvCacheType.CHOICES + "; q8_0 needs heads of a multiple of 32 values (default: ${DEFAULT-VALUE}).")
    String kvCacheDtype;

    @Option(names = "--block-size", defaultValue = "16", paramLabel = "N",
            description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--no-prefix-caching", description = "Do not reuse KV blocks of common prefixes.")
    boolean noPrefixCaching;

    @Option(names = "--kv-offload-memory", paramLabel = "BYTES",
            description = "Off-heap memory beyond the KV cache for evicted prefix blocks, e.g. 4G (tier 2); a later "
                    + "prompt with the same prefix copies them back instead of recomputing them (default: none).")
    String kvOffloadMemory;

    @Option(names = "--kv-offload-dir", paramLabel = "DIR",
            description = "Directory for evicted prefix blocks that do not fit in --kv-offload-memory (tier 3; needs "
                    + "--kv-offload-disk). Its block files are deleted at start and at exit; one server per directory.")
    Path kvOffloadDir;

    @Option(names = "--kv-offload-disk", paramLabel = "BYTES",
            description = "Bytes the files in --kv-offload-dir may take together, e.g. 20G.")
    String kvOffloadDisk;
    @Mixin
    SpeculativeOptions speculation = new SpeculativeOptions();

    /**
     * The KV cache size for sequences of at most {@code context} tokens; its warnings are printed on
     * standard error under {@code command}'s name.
     */
    KvCacheBudget kvBudget(Model model, int context, String command) {
        Long requested = kvCacheMemory == null ? null : parseBytes("--kv-cache-memory", kvCacheMemory);
        KvCacheBudget budget = KvCacheBudget.forModel(model, kvType(), blockSize, requested, kvCacheFraction,
                maxSeqs, context);
        budget.warnings().forEach(w -> System.err.println(command + ": warning: " + w));
        return budget;
    }

    /** The offload tiers the flags ask for (none by default). */
    KvOffloadConfig kvOffload() {
        long memory = kvOffloadMemory == null ? 0 : parseBytes("--kv-offload-memory", kvOffloadMemory);
        if ((kvOffloadDir == null) != (kvOffloadDisk == null)) {
            throw new IllegalArgumentException(kvOffloadDir == null
                    ? "--kv-offload-disk needs --kv-offload-dir (the directory it bounds)"
                    : "--kv-offload-dir needs --kv-offload-disk (the bound of its files' sizes, e.g. 20G)");
        }
        long disk = kvOffloadDisk == null ? 0 : parseBytes("--kv-offload-disk", kvOffloadDisk);
        KvOffloadConfig config = new KvOffloadConfig(memory, kvOffloadDir, disk);
        if (config.enabled() && noPrefixCaching) {
            throw new IllegalArgumentException("--kv-offload-memory and --kv-offload-dir keep evicted prefix-cache "
                    + "blocks; they cannot be used with --no-prefix-caching");
        }
        return config;
    }

    KvCacheType kvType() {
        return KvCacheType.parse(kvCacheDtype);
    }

    EngineConfig config(int... eosTokenIds) {
        return new EngineConfig(new SchedulerConfig(maxBatchedTokens, maxSeqs, 0.01), !noPrefixCaching, eosTokenIds,
                speculation.config());
    }

    /** "2G", "512M", "1.5GiB", "100000" → bytes (binary multiples). */
    static long parseBytes(String option, String s) {
        String t = s.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long mult = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> mult = 1L << 10;
                case 'M' -> mult = 1L << 20;
                case 'G' -> mult = 1L << 30;
                case 'T' -> mult = 1L << 40;
                default -> mult = 1;
            }
        }
        String num = mult == 1 ? t : t.substring(0, t.length() - 1);
        try {
            double v = Double.parseDouble(num);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + s + "' is not a size like 2G, 512M or 1048576");
        }
    }
}
