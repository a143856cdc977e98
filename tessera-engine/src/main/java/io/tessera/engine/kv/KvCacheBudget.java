package io.tessera.engine.kv;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How many bytes the KV cache gets, and why.
 *
 * <p>Without an explicit size the cache holds what the configured sequences can use — {@code maxSeqs}
 * full contexts — or a {@code fraction} of the memory the weights leave, whichever is smaller: a small
 * model with a short context does not take a quarter of the machine. A size the machine cannot hold is
 * refused; a cache too small for one full context is allowed (a server may only see short requests) but
 * said in a warning, since its longest requests will wait for room that never comes or be refused.
 *
 * @param bytes the cache's size
 * @param tokens how many token positions (all layers) it holds
 * @param reason where the size comes from, for the start-up line
 * @param warnings sentences the operator should read at start
 */
public record KvCacheBudget(long bytes, long tokens, String reason, List<String> warnings) {

    public KvCacheBudget {
        warnings = List.copyOf(warnings);
    }

    /**
     * The budget for a model served with at most {@code maxSeqs} sequences of {@code context} tokens.
     *
     * @param requested the operator's size in bytes, or null for the automatic one
     * @param fraction share of (physical memory − weights) the automatic size may take
     * @param weightBytes bytes of the model's matrices (mapped or not, they count as resident)
     * @param physicalBytes the machine's memory
     */
    public static KvCacheBudget choose(ModelConfig config, KvCacheType type, int blockSize, Long requested,
            double fraction, int maxSeqs, int context, long weightBytes, long physicalBytes) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("--kv-cache-fraction must be in (0, 1], got " + fraction);
        }
        if (maxSeqs < 1 || context < 1 || blockSize < 1) {
            throw new IllegalArgumentException("max sequences, context and block size must be positive");
        }
        long perToken = type.bytesPerToken(config.layers(), config.kvHeads(), config.headDim());
        long perBlock = perToken * blockSize;
        long oneContext = blocksFor(context, blockSize) * perBlock;
        long available = Math.max(0, physicalBytes - weightBytes);
        List<String> warnings = new ArrayList<>();
        long bytes;
        String reason;
        if (requested != null) {
            if (requested > physicalBytes) {
                throw new IllegalArgumentException("--kv-cache-memory " + size(requested)
                        + " is more than this machine's memory (" + size(physicalBytes) + ")");
            }
            if (requested > available) {
                warnings.add("--kv-cache-memory " + size(requested) + " and the weights ("
                        + size(weightBytes) + ") exceed this machine's memory (" + size(physicalBytes)
                        + "): the system will page");
            }
            bytes = requested;
            reason = "--kv-cache-memory";
        } else {
            long share = (long) (available * fraction);
            long sized = Math.multiplyExact((long) maxSeqs, oneContext);
            if (sized <= share) {
                bytes = sized;
                reason = String.format(Locale.ROOT, "--max-seqs %d × context %d", maxSeqs, context);
            } else {
                bytes = share;
                reason = String.format(Locale.ROOT, "--kv-cache-fraction %s of the memory beside the weights",
                        trim(fraction));
            }
        }
        long blocks = bytes / perBlock;
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache of " + bytes + " bytes holds no block of " + blockSize
                    + " tokens (" + perBlock + " bytes each)");
        }
        long tokens = blocks * blockSize;
        if (tokens < context) {
            warnings.add(String.format(Locale.ROOT, "the KV cache (%s, %s) holds %d tokens, less than one full "
                    + "context of %d: longer requests cannot run; give --kv-cache-memory %s or a smaller "
                    + "--max-model-len", size(blocks * perBlock), reason, tokens, context,
                    size(oneContext)));
        }
        return new KvCacheBudget(blocks * perBlock, tokens, reason, warnings);
    }

    /** {@link #choose} for a loaded model on this machine. */
    public static KvCacheBudget forModel(Model model, KvCacheType type, int blockSize, Long requested,
            double fraction, int maxSeqs, int context) {
        long weights = 0;
        for (Tensor t : model.matrices()) {
            weights += t.data().byteSize();
        }
        return choose(model.config(), type, blockSize, requested, fraction, maxSeqs, context, weights,
                physicalMemory());
    }

    static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** The start-up line's summary, e.g. "1.50 GiB f16, 98304 tokens (--max-seqs 32 × context 3072)". */
    public String describe(KvCacheType type) {
        return String.format(Locale.ROOT, "%s %s, %d tokens (%s)", size(bytes), type.name().toLowerCase(Locale.ROOT),
                tokens, reason);
    }

    private static long blocksFor(long tokens, int blockSize) {
        return (tokens + blockSize - 1) / blockSize;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /** Binary units, as the commands print sizes: 512.0 MiB, 1.50 GiB. */
    private static String size(long bytes) {
        return bytes < (1L << 30) ? String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20))
                : String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
