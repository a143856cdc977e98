package io.tessera.cluster.transport;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Frames waiting for the compute thread, one FIFO queue per (type, source). A receive names the
 * tag it expects: older frames are stale leftovers of a failed step and are dropped; waiting gives
 * up as soon as the sender is known to be gone, or after a timeout, so nothing hangs.
 */
public final class Mailbox {

    private final ConcurrentHashMap<Integer, LinkedBlockingQueue<Frame>> queues = new ConcurrentHashMap<>();

    private LinkedBlockingQueue<Frame> queue(MessageType type, int source) {
        return queues.computeIfAbsent(type.code() << 16 | (source & 0xffff), k -> new LinkedBlockingQueue<>());
    }

    public void put(Frame f) {
        queue(f.type(), f.source()).add(f);
    }

    public void clear() {
        queues.values().forEach(LinkedBlockingQueue::clear);
    }

    /**
     * Waits for the frame of {@code type} from {@code source} with {@code tag}.
     *
     * @param failure returns why the wait is hopeless (e.g. "worker 3 disconnected") or null
     * @throws ClusterException when the source failed, on timeout, or when a newer tag arrives first
     */
    public Frame take(MessageType type, int source, long tag, long timeoutMillis, IntFunction<String> failure) {
        LinkedBlockingQueue<Frame> q = queue(type, source);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            Frame f;
            try {
                f = q.poll(20, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ClusterException("interrupted while waiting for " + type + " from " + source);
            }
            if (f != null) {
                if (f.tag() < tag) {
                    continue;
                }
                if (f.tag() > tag) {
                    throw new ClusterException("out of step: expected " + type + " " + tag + " from " + source
                            + ", got " + f.tag());
                }
                return f;
            }
            String why = failure.apply(source);
            if (why != null) {
                throw new ClusterException(why);
            }
            if (System.nanoTime() > deadline) {
                throw new ClusterException("no " + type + " from " + source + " within " + timeoutMillis + " ms");
            }
        }
    }
}
