package io.tessera.engine;

import io.tessera.core.sampling.LogProbs;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The output of one submitted request, as a stream of deltas the engine fills while the consumer
 * reads at its own pace (a virtual thread per request blocks cheaply in {@link #take()}).
 * {@link #cancel()} aborts the request; the stream then ends with ABORTED deltas. The whole
 * result is also available as a future.
 */
public final class RequestStream implements Iterable<RequestOutput>, AutoCloseable {

    private static final Object END = new Object();

    private final String requestId;
    private final int samples;
    private final Runnable canceller;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final CompletableFuture<Completion> result = new CompletableFuture<>();
    private final StringBuilder[] text;
    private final List<List<Integer>> tokens = new ArrayList<>();
    private final List<List<LogProbs>> logprobs = new ArrayList<>();
    private final FinishReason[] reasons;
    private volatile boolean ended;
    private boolean drained;

    RequestStream(String requestId, int samples, Runnable canceller) {
        this.requestId = requestId;
        this.samples = samples;
        this.canceller = canceller;
        this.text = new StringBuilder[samples];
        this.reasons = new FinishReason[samples];
        for (int i = 0; i < samples; i++) {
            text[i] = new StringBuilder();
            tokens.add(new ArrayList<>());
            logprobs.add(new ArrayList<>());
        }
    }

    public String requestId() {
        return requestId;
    }

    /** Called by the engine thread. */
    void deliver(RequestOutput out) {
        int i = out.index();
        text[i].append(out.text());
        for (int t : out.tokenIds()) {
            tokens.get(i).add(t);
        }
        logprobs.get(i).addAll(out.logprobs());
        if (out.finishReason() != null) {
            reasons[i] = out.finishReason();
        }
        queue.add(out);
        if (out.isLast()) {
            ended = true;
            queue.add(END);
            List<Sample> all = new ArrayList<>();
            for (int s = 0; s < samples; s++) {
                all.add(new Sample(s, text[s].toString(), tokens.get(s).stream().mapToInt(Integer::intValue).toArray(),
                        List.copyOf(logprobs.get(s)), reasons[s]));
            }
            result.complete(new Completion(requestId, all, out.usage(), out.error()));
        }
    }

    /** Fails the stream before the request started (engine closed). */
    void fail(RuntimeException e) {
        ended = true;
        queue.add(END);
        result.completeExceptionally(e);
    }

    /** The next delta, waiting for it; null once the stream has ended. */
    public RequestOutput take() throws InterruptedException {
        if (drained) {
            return null;
        }
        Object o = queue.take();
        return unwrap(o);
    }

    /** The next delta, or null if none came within the timeout or the stream has ended. */
    public RequestOutput poll(long timeout, TimeUnit unit) throws InterruptedException {
        if (drained) {
            return null;
        }
        Object o = queue.poll(timeout, unit);
        return o == null ? null : unwrap(o);
    }

    private RequestOutput unwrap(Object o) {
        if (o == END) {
            drained = true;
            return null;
        }
        return (RequestOutput) o;
    }

    /** Whether the engine has sent the request's last delta. */
    public boolean isDone() {
        return ended;
    }

    /** Aborts the request if it is still running; its blocks are freed at the engine's next step. */
    public void cancel() {
        if (!ended) {
            canceller.run();
        }
    }

    /** The whole output, complete when the request has finished or was aborted. */
    public CompletableFuture<Completion> result() {
        return result;
    }

    /** Blocking iteration over the deltas. */
    @Override
    public Iterator<RequestOutput> iterator() {
        return new Iterator<>() {
            RequestOutput next;

            @Override
            public boolean hasNext() {
                if (next == null) {
                    try {
                        next = take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        cancel();
                        return false;
                    }
                }
                return next != null;
            }

            @Override
            public RequestOutput next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                RequestOutput r = next;
                next = null;
                return r;
            }
        };
    }

    @Override
    public void close() {
        cancel();
    }

    /** One sample's whole output. */
    public record Sample(int index, String text, int[] tokenIds, List<LogProbs> logprobs, FinishReason finishReason) {
    }

    /** A request's whole output. */
    public record Completion(String requestId, List<Sample> samples, Usage usage, String error) {
    }
}
