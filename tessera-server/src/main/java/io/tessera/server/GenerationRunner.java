package io.tessera.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import io.tessera.engine.ContextLengthExceededException;
import io.tessera.engine.Engine;
import io.tessera.engine.GenerationLimits;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.RequestRejectedException;
import io.tessera.engine.RequestStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Runs a {@link GenerationJob}: each prompt is one engine request, admitted as prompts × n
 * sequences; the handler's virtual thread reads the merged output streams and hands them to the
 * JSON or the SSE writer.
 */
final class GenerationRunner {

    /**
     * Milliseconds without output after which a streamed request gets an SSE comment line, and a
     * non-streaming one checks that its client is still connected (both find gone clients).
     */
    volatile long keepAliveMs = 1000;

    private final Engine engine;
    private final GenerationLimits limits;
    private final Admission admission;
    private final JsonResponseWriter jsonResponse;
    private final SseWriter sse;
    private final Set<RequestStream> active = ConcurrentHashMap.newKeySet();

    GenerationRunner(Engine engine, ServedModel model, GenerationLimits limits, ServerMetrics metrics,
            Admission admission, ObjectMapper json) {
        this.engine = engine;
        this.limits = limits;
        this.admission = admission;
        ChoiceJson choiceJson = new ChoiceJson(model.tokenizer());
        this.jsonResponse = new JsonResponseWriter(engine, model, metrics, json, choiceJson);
        this.sse = new SseWriter(model, metrics, json, choiceJson);
    }

    /** Aborts every request in flight (shutdown). */
    void abortAll() {
        for (RequestStream s : active) {
            s.cancel();
        }
    }

    /** Runs the job and writes its answer; 400/429/503 before anything is written when it cannot run. */
    void run(GenerationJob job, Context ctx) throws IOException {
        List<GenerateRequest> requests = new ArrayList<>();
        String id = (job.kind() == GenerationJob.Kind.CHAT ? "chatcmpl-" : "cmpl-")
                + UUID.randomUUID().toString().replace("-", "");
        RequestRecord.of(ctx).id = id;
        for (int i = 0; i < job.prompts().size(); i++) {
            int[] p = job.prompts().get(i);
            int max;
            try {
                max = limits.maxTokens(p.length, job.params().maxTokens());
            } catch (ContextLengthExceededException e) {
                throw contextExceeded(e, job.promptField());
            }
            requests.add(new GenerateRequest(id + "-" + i, p, job.params().withMaxTokens(max), job.kvTransfer()));
        }
        if (engine.executorHealth() != null) {
            throw ApiException.modelUnavailable();
        }
        // every prompt runs n sequences: admission counts them all, not the HTTP request
        int k = requests.size() * job.params().n();
        if (k > admission.limit()) {
            throw ApiException.badParam(job.params().n() > 1 ? "n" : job.promptField(), "This request needs " + k
                    + " sequences (" + requests.size() + " prompts × n = " + job.params().n() + "); this server admits"
                    + " at most " + admission.limit() + " at once.");
        }
        if (!admission.tryAcquire(k)) {
            throw ApiException.tooManyRequests("The server is at its limit of " + admission.limit()
                    + " pending sequences; retry later.");
        }
        List<RequestStream> streams = new ArrayList<>();
        try {
            for (GenerateRequest r : requests) {
                try {
                    streams.add(engine.submit(r));
                } catch (RequestRejectedException e) {
                    throw ApiException.badRequest(e.getMessage());
                } catch (IllegalStateException e) {
                    throw ApiException.unavailable("the engine is not running: " + e.getMessage());
                }
            }
            active.addAll(streams);
            LinkedBlockingQueue<StreamEvent> events = new LinkedBlockingQueue<>();
            for (int i = 0; i < streams.size(); i++) {
                int promptIndex = i;
                RequestStream s = streams.get(i);
                Thread.ofVirtual().name("stream-" + s.requestId()).start(() -> pump(promptIndex, s, events));
            }
            if (job.stream()) {
                sse.write(job, id, ctx, streams, events, keepAliveMs);
            } else {
                jsonResponse.write(job, id, ctx, streams, events, keepAliveMs);
            }
        } finally {
            for (RequestStream s : streams) {
                s.cancel();
                active.remove(s);
            }
            admission.release(k);
        }
    }

    /** The engine's context check as OpenAI words it, naming the prompt field or {@code max_tokens}. */
    private static ApiException contextExceeded(ContextLengthExceededException e, String what) {
        String limit = "This model's maximum context length is " + e.contextLength() + " tokens. However, ";
        if (e.maxTokens() == 0) {
            return ApiException.badParam(what, limit + "your " + what + " resulted in " + e.promptTokens()
                    + " tokens. Please reduce the length of the " + what + ".");
        }
        return ApiException.badParam(e.param(), limit + "you requested " + (e.promptTokens() + e.maxTokens())
                + " tokens (" + e.promptTokens() + " in the " + what + ", " + e.maxTokens() + " in the completion)."
                + " Please reduce the length of the " + what + " or completion.");
    }

    /** Moves one stream's outputs to the job's queue, ending with an end (or failure) event. */
    private static void pump(int prompt, RequestStream s, LinkedBlockingQueue<StreamEvent> events) {
        try {
            for (RequestOutput out : s) {
                events.add(new StreamEvent(prompt, out, null));
            }
            s.result().getNow(null);
            events.add(new StreamEvent(prompt, null, null));
        } catch (RuntimeException e) {
            events.add(new StreamEvent(prompt, null, e));
        }
    }
}
