package io.tessera.cluster.kv;

import java.time.Duration;

/**
 * How an instance takes part in prefill/decode disaggregation.
 *
 * @param produce this instance prefills for others: it listens for pulls on {@code listenHost:listenPort}
 * @param consume this instance decodes requests prefilled elsewhere: it pulls their KV
 * @param advertiseHost the host a decode instance is told to pull from (the listen host unless it is a
 *     wildcard address)
 * @param timeout how long a pinned transfer waits to be pulled, and a pull may take, before it is given up
 * @param shaping an emulated link for the blocks sent (tests, benchmarks)
 * @param peers the prefill instances' KV addresses (HOST:PORT) a consuming instance may pull from;
 *     a request naming another address is refused, since connecting sends the cluster token there
 */
public record KvTransferConfig(boolean produce, boolean consume, String listenHost, int listenPort,
        String advertiseHost, Duration timeout, LinkShaping shaping, java.util.Set<String> peers) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    public KvTransferConfig {
        if (!produce && !consume) {
            throw new IllegalArgumentException("a KV transfer configuration must produce, consume or both");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--kv-transfer-timeout must be positive, got " + timeout);
        }
        if (listenPort < 0 || listenPort > 65535) {
            throw new IllegalArgumentException("the KV transfer port must be 0..65535, got " + listenPort);
        }
        shaping = shaping == null ? LinkShaping.NONE : shaping;
        peers = peers == null ? java.util.Set.of() : java.util.Set.copyOf(peers);
        if (consume && peers.isEmpty()) {
            throw new IllegalArgumentException("a decode instance needs the prefill instances' KV addresses it may "
                    + "pull from (--kv-peers HOST:PORT,...)");
        }
    }
}
