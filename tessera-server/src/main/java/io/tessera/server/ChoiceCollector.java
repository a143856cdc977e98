package io.tessera.server;

import io.tessera.core.sampling.LogProbs;
import io.tessera.engine.FinishReason;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * Takes a job's stream events in arrival order, accumulates its choices (prompts × n), and
 * records its latencies and counts in the metrics and the request's access-log record.
 */
final class ChoiceCollector {

    /** One choice being assembled. */
    static final class Choice {
        final StringBuilder text = new StringBuilder();
        final List<Integer> tokens = new ArrayList<>();
        final List<LogProbs> logprobs = new ArrayList<>();
        FinishReason finish;
        long lastNanos;
        boolean started;
        int textOffset;
        /** Reads tool calls out of a streamed reply, when the request has tools. */
        ToolCallParser toolCalls;
    }

    private final GenerationJob job;
    private final ServerMetrics metrics;
    private final RequestRecord record;
    /** Samples per prompt: choice {@code i} is sample {@code i % n} of prompt {@code i / n}. */
    final int n;
    final Choice[] choices;
    private final Usage[] usages;
    private int ended;
    private long firstTokenNanos;
    /** Why the job failed (the first failure of any of its streams), or null. */
    String error;

    ChoiceCollector(GenerationJob job, RequestRecord record, ServerMetrics metrics) {
        this.job = job;
        this.metrics = metrics;
        this.record = record;
        this.n = job.params().n();
        this.choices = new Choice[job.prompts().size() * n];
        for (int i = 0; i < choices.length; i++) {
            choices[i] = new Choice();
        }
        this.usages = new Usage[job.prompts().size()];
    }

    /** Applies one event; returns the choice index it concerns, or -1. */
    int apply(StreamEvent e) {
        if (e.out() == null) {
            ended++;
            if (e.failure() != null && error == null) {
                error = e.failure().getMessage();
            }
            return -1;
        }
        RequestOutput o = e.out();
        int ci = e.prompt() * n + o.index();
        Choice c = choices[ci];
        long now = System.nanoTime();
        int[] ids = o.tokenIds();
        if (ids.length > 0) {
            if (firstTokenNanos == 0) {
                firstTokenNanos = now;
                metrics.ttft.observe((now - job.arrivalNanos()) / 1e9);
            } else if (c.lastNanos != 0) {
                metrics.itl.observe((now - c.lastNanos) / 1e9);
            }
            c.lastNanos = now;
            for (int t : ids) {
                c.tokens.add(t);
            }
        }
        c.text.append(o.text());
        c.logprobs.addAll(o.logprobs());
        if (o.finishReason() != null) {
            c.finish = o.finishReason();
            if (o.finishReason() == FinishReason.ERROR && error == null) {
                error = o.error() == null ? "generation failed" : o.error();
            }
        }
        if (o.usage() != null) {
            usages[e.prompt()] = o.usage();
        }
        return ci;
    }

    /** Whether every prompt's stream has ended. */
    boolean done() {
        return ended == job.prompts().size();
    }

    /** The token counts of all prompts together. */
    Usage usage() {
        int p = 0;
        int c = 0;
        int cached = 0;
        for (Usage u : usages) {
            if (u != null) {
                p += u.promptTokens();
                c += u.completionTokens();
                cached += u.cachedPromptTokens();
            }
        }
        return new Usage(p, c, cached);
    }

    /** Records the finished job in its access-log record and the metrics. */
    void finish() {
        Usage u = usage();
        record.tokens(u.promptTokens(), u.completionTokens());
        record.firstTokenNanos = firstTokenNanos;
        metrics.promptTokens.inc(u.promptTokens());
        metrics.generationTokens.inc(u.completionTokens());
        metrics.e2e.observe((System.nanoTime() - job.arrivalNanos()) / 1e9);
        for (Choice c : choices) {
            String reason = c.finish == null ? "abort" : c.finish.openAiName();
            metrics.requestSuccess.labelValues(reason).inc();
        }
    }
}
