package io.tessera.cli;

import io.tessera.cluster.kv.ClusterKvConnector;
import io.tessera.cluster.kv.KvTransferConfig;
import io.tessera.cluster.kv.LinkShaping;
import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.transport.Tls;
import io.tessera.engine.connector.KvConnector;
import io.tessera.engine.executor.Executor;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/** {@code tessera serve}'s prefill/decode disaggregation flags: the instance's role and its KV transfer. */
final class KvTransferOptions {

    @Option(names = "--kv-role", defaultValue = "both", paramLabel = "ROLE",
            description = "prefill: prefill prompts for decode instances and serve their KV blocks on "
                    + "--kv-transfer-listen; decode: pull prompts' KV from the prefill instances of --kv-peers "
                    + "instead of computing it; both: serve whole requests, and take either part when "
                    + "--kv-transfer-listen or --kv-peers is given (default: ${DEFAULT-VALUE}). The transfer uses "
                    + "the cluster token (--cluster-token-file, env TESSERA_CLUSTER_TOKEN) and TLS when "
                    + "--cluster-tls-keystore is given.")
    String role;

    @Option(names = "--kv-transfer-listen", paramLabel = "HOST:PORT",
            description = "Where a prefill instance serves KV pulls (default for --kv-role prefill: the --host "
                    + "address, a free port; the port is told to the router in each prefill's response). A replica "
                    + "with --kv-role both and this address also serves its cached prefixes to other replicas "
                    + "(peer prefix fetch; give the router this address with --replica-kv).")
    String listen;

    @Option(names = "--kv-transfer-advertise", paramLabel = "HOST",
            description = "The host decode instances are told to pull from (default: the listen host).")
    String advertise;

    @Option(names = "--kv-peers", split = ",", paramLabel = "HOST:PORT",
            description = "KV transfer addresses of the prefill instances a decode instance may pull from, and of "
                    + "the replicas a replica may fetch cached prefixes from (the router's fetch_prefix_from_peer "
                    + "hints); a request naming another address is refused, a prefix hint naming one is ignored "
                    + "(connecting sends the cluster token there).")
    List<String> peers;

    @Option(names = "--kv-transfer-timeout", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long a prefilled prompt's KV waits to be pulled, and a pull may take, before it is "
                    + "given up (the decode instance then computes the prompt itself) (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--kv-link-shaping", paramLabel = "BANDWIDTH[,LATENCY_MS]",
            description = "Emulate a link for the KV blocks this instance sends, e.g. 100M,2 (bytes per second, "
                    + "milliseconds before each transfer); for tests and benchmarks.")
    String shaping;

    /**
     * The connector for this instance's role, or {@link KvConnector#NONE} when it takes no part.
     *
     * @param host the server's --host, the default KV listen host
     */
    KvConnector open(Executor executor, String host, ClusterOptions cluster) throws Exception {
        String r = role.toLowerCase(Locale.ROOT);
        boolean produce;
        boolean consume;
        switch (r) {
            case "prefill" -> {
                produce = true;
                consume = false;
            }
            case "decode" -> {
                produce = false;
                consume = true;
            }
            case "both" -> {
                produce = listen != null;
                consume = peers != null && !peers.isEmpty();
            }
            default -> throw new IllegalArgumentException("--kv-role must be prefill, decode or both, got '" + role
                    + "'");
        }
        if (!produce && !consume) {
            if (shaping != null) {
                throw new IllegalArgumentException("--kv-link-shaping applies to an instance that prefills for others");
            }
            return KvConnector.NONE;
        }
        if (produce && !consume && peers != null) {
            throw new IllegalArgumentException("--kv-peers applies to a decode instance, not to --kv-role prefill");
        }
        if (!(timeout > 0) || timeout > 86_400) {
            throw new IllegalArgumentException("--kv-transfer-timeout must be a positive number of seconds up to a day,"
                    + " got " + timeout);
        }
        if (executor.kvBlocks() == null) {
            throw new IllegalArgumentException("KV transfer (--kv-role) needs the model served in this process: "
                    + "not with --tp/--pp");
        }
        String listenHost = host;
        int listenPort = 0;
        if (listen != null) {
            int colon = listen.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--kv-transfer-listen takes HOST:PORT, got '" + listen + "'");
            }
            listenHost = listen.substring(0, colon);
            try {
                listenPort = Integer.parseInt(listen.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--kv-transfer-listen: '" + listen.substring(colon + 1)
                        + "' is not a port");
            }
        }
        Set<String> peerSet = new LinkedHashSet<>();
        if (peers != null) {
            for (String p : peers) {
                int colon = p.lastIndexOf(':');
                if (colon <= 0 || !p.substring(colon + 1).matches("[0-9]{1,5}")) {
                    throw new IllegalArgumentException("--kv-peers takes HOST:PORT entries, got '" + p + "'");
                }
                peerSet.add(p.trim());
            }
        }
        LinkShaping link = shaping == null ? LinkShaping.NONE
                : LinkShaping.parse(shaping, s -> EngineOptions.parseBytes("--kv-link-shaping", s));
        String token = ClusterToken.resolve(cluster.token, "--cluster-token", cluster.tokenFile,
                System.getenv(ClusterToken.ENV));
        if (token == null) {
            throw new IllegalArgumentException("KV transfer needs the cluster token: --cluster-token-file FILE or the "
                    + ClusterToken.ENV + " environment variable, the same on prefill and decode instances");
        }
        if (cluster.tlsKeystore != null) {
            System.setProperty("tessera.cluster.tls.keystore", cluster.tlsKeystore.toAbsolutePath().toString());
        }
        KvTransferConfig config = new KvTransferConfig(produce, consume, listenHost, listenPort,
                advertise != null ? advertise : listenHost, Duration.ofMillis(Math.round(timeout * 1000)), link,
                peerSet);
        ClusterKvConnector c = new ClusterKvConnector(executor.kvBlocks(), executor.blockSize(), config, token,
                Tls.fromEnvironment());
        System.err.println("tessera serve: KV transfer " + (produce ? "prefill" : "") + (produce && consume ? "+" : "")
                + (consume ? "decode" : "") + (c.address() != null ? ", serving pulls on " + c.address() : "")
                + (consume ? ", pulling from " + peerSet : ""));
        return c;
    }
}
