package io.tessera.cli;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.model.Model;
import java.util.Locale;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.kv.KvCacheBudget;
import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.spec.SpeculativeConfig;
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
            description = "KV cache precision: f32, f16 or bf16 (default: ${DEFAULT-VALUE}).")
    String kvCacheDtype;

    @Option(names = "--block-size", defaultValue = "16", paramLabel = "N",
            description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--no-prefix-caching", description = "Do not reuse KV blocks of common prefixes.")
    boolean noPrefixCaching;

    @Option(names = "--speculative-method", defaultValue = "none", paramLabel = "METHOD",
            description = "Speculative decoding: none; ngram (prompt lookup: proposes the tokens that followed "
                    + "the latest earlier occurrence of the sequence's last n tokens); or draft (a smaller model, "
                    + "--speculative-model). The model verifies the proposals in the same step; outputs keep the "
                    + "model's distribution (default: ${DEFAULT-VALUE}).")
    String speculativeMethod;

    @Option(names = "--num-speculative-tokens", paramLabel = "K",
            description = "Tokens proposed per sequence and step with --speculative-method (default: 4; at most "
                    + SpeculativeConfig.MAX_SPECULATIVE_TOKENS + ").")
    Integer numSpeculativeTokens;

    @Option(names = "--prompt-lookup-min", defaultValue = "" + SpeculativeConfig.DEFAULT_PROMPT_LOOKUP_MIN,
            paramLabel = "N", description = "Shortest n-gram the ngram method matches (default: ${DEFAULT-VALUE}).")
    int promptLookupMin;

    @Option(names = "--prompt-lookup-max", defaultValue = "" + SpeculativeConfig.DEFAULT_PROMPT_LOOKUP_MAX,
            paramLabel = "N", description = "Longest n-gram the ngram method matches, tried first (default: "
                    + "${DEFAULT-VALUE}).")
    int promptLookupMax;

    @Option(names = "--speculative-model", paramLabel = "FILE",
            description = "A smaller GGUF model with the same tokenizer that proposes tokens (implies "
                    + "--speculative-method draft); its own KV cache holds as many tokens as the model's.")
    java.nio.file.Path speculativeModel;

    /** The speculative decoding settings the flags name. */
    SpeculativeConfig speculative() {
        String method = speculativeMethod.toLowerCase(Locale.ROOT);
        if (speculativeModel != null && method.equals("none")) {
            method = "draft";
        }
        if (speculativeModel != null && !method.equals("draft")) {
            throw new IllegalArgumentException("--speculative-model needs --speculative-method draft, not "
                    + speculativeMethod);
        }
        switch (method) {
            case "draft" -> {
                if (speculativeModel == null) {
                    throw new IllegalArgumentException("--speculative-method draft needs --speculative-model FILE");
                }
                return tokens(numSpeculativeTokens == null ? 4 : numSpeculativeTokens, "draft");
            }
            case "none" -> {
                if (numSpeculativeTokens != null) {
                    throw new IllegalArgumentException("--num-speculative-tokens needs --speculative-method ngram");
                }
                return SpeculativeConfig.off();
            }
            case "ngram" -> {
                return tokens(numSpeculativeTokens == null ? 4 : numSpeculativeTokens, "ngram");
            }
            default -> throw new IllegalArgumentException("--speculative-method: '" + speculativeMethod
                    + "' is not a method; use none, ngram or draft");
        }
    }

    private SpeculativeConfig tokens(int k, String method) {
        if (k < 1) {
            throw new IllegalArgumentException("--num-speculative-tokens must be at least 1 with "
                    + "--speculative-method " + method + ", got " + k);
        }
        return new SpeculativeConfig(k, promptLookupMin, promptLookupMax);
    }

    /**
     * The draft model's proposer when --speculative-model is given, else null (prompt lookup or no
     * speculation). Its cache holds {@code numBlocks} blocks, as many tokens as the model's.
     */
    DraftModel openDraft(io.tessera.core.tokenizer.Tokenizer target, int targetVocab,
            io.tessera.core.kernel.Parallel parallel, int numBlocks) throws java.io.IOException {
        return speculativeModel == null ? null
                : DraftModel.open(speculativeModel, target, targetVocab, parallel, kvType(), blockSize, numBlocks);
    }

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

    KvCacheType kvType() {
        return KvCacheType.parse(kvCacheDtype);
    }

    EngineConfig config(int... eosTokenIds) {
        return new EngineConfig(new SchedulerConfig(maxBatchedTokens, maxSeqs, 0.01), !noPrefixCaching, eosTokenIds,
                speculative());
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
