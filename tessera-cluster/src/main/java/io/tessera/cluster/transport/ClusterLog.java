package io.tessera.cluster.transport;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The cluster's operator log: one timestamped line per event (a connection authenticated or
 * refused, a worker lost or back, a local worker restarted) on standard error, where `tessera
 * serve` and `tessera worker` write their other messages.
 */
public final class ClusterLog {

    /** Who speaks: "cluster" in a coordinator, the worker and its address in a worker process. */
    private static volatile String speaker = "cluster";

    private ClusterLog() {
    }

    /** Names this process in its log lines (a worker's lines then stand out in its coordinator's log). */
    public static void speaker(String name) {
        speaker = name;
    }

    public static void log(String message) {
        System.err.println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " tessera " + speaker + ": " + message);
    }
}
