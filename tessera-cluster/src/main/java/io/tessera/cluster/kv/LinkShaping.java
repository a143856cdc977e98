package io.tessera.cluster.kv;

/**
 * An emulated link for KV transfers (tests and benchmarks): the sender waits {@code latencyMillis}
 * before the first frame of a transfer and paces its bytes to {@code bytesPerSecond}. Loopback is
 * otherwise far faster than any network a prefill and a decode instance would share.
 *
 * @param bytesPerSecond 0 for no limit
 * @param latencyMillis 0 for none
 */
public record LinkShaping(long bytesPerSecond, long latencyMillis) {

    public static final LinkShaping NONE = new LinkShaping(0, 0);

    public LinkShaping {
        if (bytesPerSecond < 0 || latencyMillis < 0) {
            throw new IllegalArgumentException("link shaping needs a bandwidth and a latency of at least 0, got "
                    + bytesPerSecond + " bytes/s and " + latencyMillis + " ms");
        }
    }

    /**
     * Parses "BANDWIDTH[,LATENCY]": a bandwidth such as 1G, 100M or 12.5M (bytes per second) and a
     * latency in milliseconds, e.g. "100M,2".
     */
    public static LinkShaping parse(String s, java.util.function.ToLongFunction<String> bytes) {
        String[] parts = s.split(",", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException("--kv-link-shaping takes BANDWIDTH[,LATENCY_MS], got '" + s + "'");
        }
        long bw = bytes.applyAsLong(parts[0]);
        long latency = 0;
        if (parts.length == 2) {
            try {
                latency = Long.parseLong(parts[1].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--kv-link-shaping: the latency '" + parts[1]
                        + "' is not a whole number of milliseconds");
            }
        }
        return new LinkShaping(bw, latency);
    }

    public boolean shapes() {
        return bytesPerSecond > 0 || latencyMillis > 0;
    }

    /** Sleeps until {@code sentBytes} may have left a link opened at {@code startNanos}. */
    void pace(long startNanos, long sentBytes) throws InterruptedException {
        if (!shapes()) {
            return;
        }
        long due = startNanos + latencyMillis * 1_000_000L
                + (bytesPerSecond == 0 ? 0 : (long) (sentBytes * 1e9 / bytesPerSecond));
        long wait = due - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
        }
    }
}
