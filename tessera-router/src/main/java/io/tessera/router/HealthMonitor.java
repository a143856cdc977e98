package io.tessera.router;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches the replicas: a {@code GET /health} of each every health interval, and a watchdog over
 * the requests in flight that cancels those past the request timeout and, when a replica has sent
 * nothing at all for the stall timeout, takes it out of the rotation and cancels all of its
 * requests. A health answer of any status counts as a sign of life, which is what tells a replica
 * busy with a long generation from a stopped one.
 */
final class HealthMonitor implements AutoCloseable {

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final List<Replica> replicas;
    private final HttpClient client;
    private final RouterConfig config;
    private final ExecutorService probes;
    private final ScheduledExecutorService timers;

    HealthMonitor(List<Replica> replicas, HttpClient client, RouterConfig config, ExecutorService probes) {
        this.replicas = List.copyOf(replicas);
        this.client = client;
        this.config = config;
        this.probes = probes;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tessera-router-health");
            t.setDaemon(true);
            return t;
        });
        timers.scheduleWithFixedDelay(this::checkAll, 0, config.healthInterval().toMillis(), TimeUnit.MILLISECONDS);
        long watchMillis = Math.clamp(config.stallTimeout().toMillis() / 4, 50, 1000);
        timers.scheduleWithFixedDelay(this::watchInFlight, watchMillis, watchMillis, TimeUnit.MILLISECONDS);
    }

    private void checkAll() {
        for (Replica r : replicas) {
            probes.submit(() -> check(r));
        }
    }

    private void check(Replica r) {
        // an unanswered probe must end before the replica could count as stalled
        Duration timeout = PROBE_TIMEOUT.compareTo(config.stallTimeout().dividedBy(2)) < 0 ? PROBE_TIMEOUT
                : config.stallTimeout().dividedBy(2);
        try {
            var resp = client.send(HttpRequest.newBuilder(r.base().resolve("/health")).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.discarding());
            r.heard();
            if (resp.statusCode() == 200) {
                r.up();
            } else {
                r.down("health check answered " + resp.statusCode(), false);
            }
        } catch (IOException e) {
            r.down("health check failed: " + Router.describe(e), e instanceof ConnectException);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void watchInFlight() {
        long now = System.nanoTime();
        long stall = config.stallTimeout().toNanos();
        for (Replica r : replicas) {
            boolean stalled = false;
            for (Attempt a : r.inFlight()) {
                if (now - a.startNanos > config.requestTimeout().toNanos()) {
                    a.cancel(Attempt.Cancel.TIMED_OUT);
                } else if (a.silentNanos(now) > stall) {
                    stalled = true;
                }
            }
            if (stalled) {
                r.down("stalled: nothing arrived from it for " + config.stallTimeout().toMillis()
                        + " ms with requests in flight", true);
                for (Attempt a : r.inFlight()) {
                    a.cancel(Attempt.Cancel.STALLED);
                }
            }
        }
    }

    @Override
    public void close() {
        timers.shutdownNow();
    }
}
