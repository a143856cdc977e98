package io.tessera.core.generate;

import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCache;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.sampling.Sampler;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.core.sampling.TokenCounts;
import io.tessera.core.tokenizer.StreamingDecoder;
import io.tessera.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Generates text for one prompt with no engine around it, the tests' plain reference: a batch of one
 * through the same forward pass the serving engine uses, over a heap KV cache. The prompt is
 * prefilled in chunks, then tokens are decoded one at a time until the token limit, the context end,
 * or an end token. ({@code tessera run} goes through the engine.)
 */
public final class Generator {

    /** What a generation produced and how long it took. */
    public record Result(int[] promptTokens, int[] generatedTokens, String text, String stopReason,
            long prefillNanos, long decodeNanos) {

        public double prefillTokensPerSecond() {
            return promptTokens.length / Math.max(1e-9, prefillNanos / 1e9);
        }

        /** Tokens decoded after the first (which comes out of the prefill) per second. */
        public double decodeTokensPerSecond() {
            return Math.max(0, generatedTokens.length - 1) / Math.max(1e-9, decodeNanos / 1e9);
        }
    }

    private static final int BLOCK_SIZE = 16;
    private static final int PREFILL_CHUNK = 256;

    private final DecoderForward forward;
    private final Tokenizer tokenizer;

    public Generator(DecoderForward forward, Tokenizer tokenizer) {
        this.forward = forward;
        this.tokenizer = tokenizer;
    }

    /**
     * @param onText receives each newly decoded piece of text as soon as it is complete UTF-8
     */
    public Result generate(String prompt, int maxTokens, SamplingParams params, Consumer<String> onText) {
        int[] promptTokens = tokenizer.encode(prompt, true);
        return generate(promptTokens, maxTokens, params, onText);
    }

    public Result generate(int[] promptTokens, int maxTokens, SamplingParams params, Consumer<String> onText) {
        ModelConfig cfg = forward.model().config();
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("empty prompt: at least one token (BOS) is needed");
        }
        if (promptTokens.length >= cfg.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + promptTokens.length
                    + " tokens, the model's context length is " + cfg.contextLength());
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        int total = Math.min(cfg.contextLength(), promptTokens.length + maxTokens);
        int[] table = new int[(total + BLOCK_SIZE - 1) / BLOCK_SIZE];
        Arrays.setAll(table, i -> i);
        KvCache cache = new F32KvCache(cfg, table.length, BLOCK_SIZE);
        Sampler sampler = new Sampler(params);
        TokenCounts counts = new TokenCounts();
        counts.addPrompt(promptTokens);
        StreamingDecoder decoder = tokenizer.newStreamingDecoder(promptTokens[promptTokens.length - 1]);
        StringBuilder text = new StringBuilder();
        int vocab = cfg.vocabSize();

        long start = System.nanoTime();
        float[] logits = null;
        for (int from = 0; from < promptTokens.length; from += PREFILL_CHUNK) {
            int to = Math.min(promptTokens.length, from + PREFILL_CHUNK);
            ForwardBatch.Logits want = to == promptTokens.length ? ForwardBatch.Logits.LAST : ForwardBatch.Logits.NONE;
            logits = forward.forward(ForwardBatch.single(table, Arrays.copyOfRange(promptTokens, from, to), from, want),
                    cache);
        }
        long prefillEnd = System.nanoTime();

        int[] out = new int[total - promptTokens.length];
        int produced = 0;
        String stop = "length";
        int position = promptTokens.length;
        while (true) {
            int token = sampler.sample(logits, 0, vocab, counts);
            if (token == tokenizer.eos() || token == tokenizer.bos()) {
                stop = "stop";
                break;
            }
            out[produced++] = token;
            counts.addOutput(token);
            String piece = decoder.push(token);
            if (!piece.isEmpty()) {
                text.append(piece);
                onText.accept(piece);
            }
            if (produced == out.length) {
                break;
            }
            logits = forward.forward(ForwardBatch.single(table, new int[] {token}, position++, ForwardBatch.Logits.LAST),
                    cache);
        }
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            text.append(rest);
            onText.accept(rest);
        }
        long end = System.nanoTime();
        return new Result(promptTokens, Arrays.copyOf(out, produced), text.toString(), stop, prefillEnd - start,
                end - prefillEnd);
    }
}
