package io.tessera.cli;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.spec.SpeculativeConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/** Speculative decoding flags (serve, run, bench throughput). */
final class SpeculativeOptions {

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
    Path speculativeModel;

    /** The speculative decoding settings the flags name. */
    SpeculativeConfig config() {
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
    DraftModel openDraft(Tokenizer target, int targetVocab, Parallel parallel, KvCacheType kvType, int blockSize,
            int numBlocks) throws IOException {
        return speculativeModel == null ? null
                : DraftModel.open(speculativeModel, target, targetVocab, parallel, kvType, blockSize, numBlocks);
    }

    /** The method's name for reports: none, ngram or draft. */
    String method() {
        return speculativeModel != null ? "draft" : speculativeMethod.toLowerCase(Locale.ROOT);
    }
}
