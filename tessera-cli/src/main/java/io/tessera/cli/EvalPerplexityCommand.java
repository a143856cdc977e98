package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.eval.PerplexityEvaluator;
import io.tessera.core.eval.PerplexityResult;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera eval perplexity}: the adapter from options to {@link PerplexityEvaluator}. Results
 * go to standard output, progress to standard error.
 */
@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a model on a text, as llama.cpp's llama-perplexity computes it: the text is "
                + "tokenized with BOS and cut into windows of --ctx tokens, each starting with BOS; each window "
                + "scores its second half (at most its last --stride tokens). With --kl-base, also the KL divergence "
                + "of each scored token's distribution from the base model's (llama.cpp's --kl-divergence).")
final class EvalPerplexityCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    /** The model's weights may be quantized at load (an FP8 or Q8_0 row of the quality table from the F32 file). */
    @Mixin
    QuantizeOption quantize = new QuantizeOption();

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "The text to score (UTF-8).")
    Path text;

    @Option(names = "--ctx", paramLabel = "N", defaultValue = "512",
            description = "Tokens per window; at most the model's context length (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = "--stride", paramLabel = "N",
            description = "Tokens between window starts, 1..ctx (default: ctx, llama.cpp's non-overlapping windows). "
                    + "A window scores its last min(stride, ctx-1-ctx/2) tokens, so a stride of at most ctx/2-1 "
                    + "scores every token after the first window's first half once.")
    Integer stride;

    @Option(names = "--kv-cache-dtype", defaultValue = "f32", paramLabel = "TYPE",
            description = "KV cache precision of the evaluated model: " + KvCacheType.CHOICES + "; the base model always runs "
                    + "with f32 (default: ${DEFAULT-VALUE}).")
    String kvCacheDtype;

    @Option(names = "--kl-base", paramLabel = "PATH",
            description = "Base model to compare with (e.g. the F32 original): KL divergence of each scored token's "
                    + "distribution from the base's, and how often both pick the same top token. It must tokenize "
                    + "the text the same way; a llama2.c base uses --tokenizer too.")
    Path klBase;

    @Option(names = "--batch-tokens", paramLabel = "N", defaultValue = "2048",
            description = "About how many tokens one forward step carries: that many tokens' worth of windows run "
                    + "together, at least one (default: ${DEFAULT-VALUE}).")
    int batchTokens;

    @Option(names = "--json", description = "Print one JSON object on standard output instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        KvCacheType kvType = KvCacheType.parse(kvCacheDtype);
        if (batchTokens < 1) {
            throw new IllegalArgumentException("--batch-tokens must be positive, got " + batchTokens);
        }
        String content;
        try {
            content = Files.readString(text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --text " + text + ": "
                    + (e instanceof NoSuchFileException ? "no such file" : e.toString()));
        }
        try (LoadedModel loaded = modelOptions.open(quantize);
                LoadedModel baseLoaded = klBase == null ? null : LoadedModel.open(klBase, modelOptions.tokenizer);
                Parallel parallel = new Parallel(modelOptions.threads())) {
            int[] tokens = loaded.tokenizer().encode(content, true);
            if (baseLoaded != null && !Arrays.equals(tokens, baseLoaded.tokenizer().encode(content, true))) {
                throw new IllegalArgumentException("--kl-base " + klBase + " tokenizes the text differently from the "
                        + "model: KL divergence needs the same tokenizer");
            }
            DecoderForward base = baseLoaded == null ? null : new DecoderForward(baseLoaded.model(), parallel);
            PerplexityEvaluator evaluator = new PerplexityEvaluator(new DecoderForward(loaded.model(), parallel), base,
                    kvType, batchTokens);
            PerplexityResult r = evaluator.evaluate(tokens, loaded.tokenizer().bos(), ctx,
                    stride == null ? ctx : stride, progress());
            if (json) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(toJson(r, kvType)));
            } else {
                printText(r, kvType);
            }
        }
        return 0;
    }

    /** One line per step on a terminal; otherwise at most one line every few seconds, and the last. */
    private static PerplexityEvaluator.Progress progress() {
        boolean terminal = System.console() != null;
        long[] lastPrint = {System.nanoTime()};
        return (done, total, ppl) -> {
            long now = System.nanoTime();
            if (terminal || done == total || now - lastPrint[0] > 5_000_000_000L) {
                lastPrint[0] = now;
                System.err.printf(Locale.ROOT, "windows %d/%d, perplexity so far %.4f%n", done, total, ppl);
            }
        };
    }

    private void printText(PerplexityResult r, KvCacheType kvType) {
        System.out.printf(Locale.ROOT, "perplexity: %.4f ± %.4f (%d tokens scored in %d windows of %d, stride %d,"
                + " KV cache %s)%n", r.perplexity(), r.perplexityError(), r.scoredTokens(), r.windows(), r.ctx(),
                r.stride(), kvType.name().toLowerCase(Locale.ROOT));
        System.out.printf(Locale.ROOT, "mean NLL: %.6f ± %.6f; top-1 accuracy: %.2f%%%n", r.meanNll(),
                r.nllStandardError(), 100 * r.top1Accuracy());
        PerplexityResult.Divergence d = r.kl();
        if (d != null) {
            System.out.printf(Locale.ROOT, "base perplexity: %.4f; ln(PPL/PPL base): %.6f%n", d.basePerplexity(),
                    r.meanNll() - d.baseMeanNll());
            System.out.printf(Locale.ROOT, "KL divergence: mean %.6f ± %.6f, median %.6f, p99 %.6f, max %.6f%n",
                    d.klMean(), d.klStandardError(), d.klMedian(), d.klP99(), d.klMax());
            System.out.printf(Locale.ROOT, "same top token: %.3f ± %.3f %%%n", 100 * d.sameTopRate(),
                    100 * d.sameTopStandardError());
        }
    }

    private ObjectNode toJson(PerplexityResult r, KvCacheType kvType) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("model", modelOptions.model().toString());
        o.put("text", text.toString());
        o.put("kv_cache_dtype", kvType.name().toLowerCase(Locale.ROOT));
        o.put("ctx", r.ctx());
        o.put("stride", r.stride());
        o.put("windows", r.windows());
        o.put("scored_tokens", r.scoredTokens());
        o.put("mean_nll", r.meanNll());
        o.put("mean_nll_stderr", r.nllStandardError());
        o.put("perplexity", r.perplexity());
        o.put("perplexity_stderr", r.perplexityError());
        o.put("top1_accuracy", r.top1Accuracy());
        PerplexityResult.Divergence d = r.kl();
        if (d != null) {
            ObjectNode k = o.putObject("kl");
            k.put("base", klBase.toString());
            k.put("base_perplexity", d.basePerplexity());
            k.put("ln_ppl_ratio", r.meanNll() - d.baseMeanNll());
            k.put("mean", d.klMean());
            k.put("mean_stderr", d.klStandardError());
            k.put("median", d.klMedian());
            k.put("p99", d.klP99());
            k.put("max", d.klMax());
            k.put("same_top_rate", d.sameTopRate());
            k.put("same_top_rate_stderr", d.sameTopStandardError());
        }
        return o;
    }
}
