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
 * @param peers the other instances' KV addresses (HOST:PORT) this one may connect to: the prefill
 *     instances a consuming instance pulls from, the decode instances a producing instance pushes
 *     to; a request naming another address is refused, since connecting sends the cluster token there
 * @param acceptPushes a consuming instance that also listens on {@code listenHost:listenPort} for
 *     prefill instances pushing KV to it
 */
public record KvTransferConfig(boolean produce, boolean consume, String listenHost, int listenPort,
        String advertiseHost, Duration timeout, LinkShaping shaping, java.util.Set<String> peers,
        boolean acceptPushes) {

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
        if (acceptPushes && !consume) {
            throw new IllegalArgumentException("only a decode instance accepts pushed KV");
        }
        if (consume && peers.isEmpty() && !acceptPushes) {
            throw new IllegalArgumentException("a decode instance needs the prefill instances' KV addresses it may "
                    + "pull from (--kv-peers HOST:PORT,...), or an address to accept pushes on "
                    + "(--kv-transfer-listen HOST:PORT)");
        }
    }

    /** Without pushes accepted. */
    public KvTransferConfig(boolean produce, boolean consume, String listenHost, int listenPort, String advertiseHost,
            Duration timeout, LinkShaping shaping, java.util.Set<String> peers) {
        this(produce, consume, listenHost, listenPort, advertiseHost, timeout, shaping, peers, false);
    }

    /** Whether this instance listens for KV connections (pulls from decode instances, pushes from prefill ones). */
    public boolean listens() {
        return produce || acceptPushes;
    }
}
