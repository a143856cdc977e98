package io.tessera.engine;

import io.tessera.engine.RequestStream.Completion;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * One request run to its end through an engine, its text handed on as it comes, its phases timed:
 * what {@code tessera run} and its chat mode need from the engine.
 *
 * @param completion the request's samples and usage
 * @param firstTokenNanos from submission to the first generated token (prompt processing)
 * @param decodeNanos from the first generated token to the end
 */
public record TimedGeneration(Completion completion, long firstTokenNanos, long decodeNanos) {

    /**
     * Submits {@code request} (one sample), passes each piece of its text to {@code onText} and waits
     * for its end.
     *
     * @throws IllegalStateException when the engine reports an error for the request
     */
    public static TimedGeneration run(Engine engine, GenerateRequest request, Consumer<String> onText)
            throws InterruptedException {
        if (request.params().n() != 1) {
            throw new IllegalArgumentException("a timed generation has one sample, got n=" + request.params().n());
        }
        long start = System.nanoTime();
        long first = -1;
        try (RequestStream stream = engine.submit(request)) {
            for (RequestOutput out : stream) {
                if (first < 0 && out.tokenIds().length > 0) {
                    first = System.nanoTime();
                }
                if (!out.text().isEmpty()) {
                    onText.accept(out.text());
                }
            }
            Completion done = stream.result().get();
            if (done.error() != null) {
                throw new IllegalStateException(done.error());
            }
            long end = System.nanoTime();
            if (first < 0) {
                first = end;
            }
            return new TimedGeneration(done, first - start, end - first);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        }
    }

    public Usage usage() {
        return completion.usage();
    }

    public RequestStream.Sample sample() {
        return completion.samples().get(0);
    }

    /** Prompt tokens computed (not taken from the prefix cache) per second until the first token. */
    public double promptTokensPerSecond() {
        return (usage().promptTokens() - usage().cachedPromptTokens()) / Math.max(1e-9, firstTokenNanos / 1e9);
    }

    /** Tokens decoded after the first (which comes out of the prompt's step) per second. */
    public double decodeTokensPerSecond() {
        return Math.max(0, usage().completionTokens() - 1) / Math.max(1e-9, decodeNanos / 1e9);
    }
}
