package io.tessera.cli;

import io.tessera.router.Router;
import io.tessera.router.RouterConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera router}: the data-parallel front of several {@code tessera serve} replicas, or the
 * proxy of prefill/decode disaggregation over prefill and decode instances.
 */
@Command(name = "router", mixinStandardHelpOptions = true,
        description = "Route OpenAI API requests over several `tessera serve` replicas: fewest outstanding tokens "
                + "first, the same prompt prefix to the replica that has it cached, health checks, retries on another "
                + "replica when one fails. With --prefill and --decode instead of --replicas, each generation request "
                + "is prefilled by a prefill instance (`serve --kv-role prefill`) and decoded by a decode instance "
                + "(`serve --kv-role decode`), which pulls the prompt's KV and answers the client. Requests go only to "
                + "the instances given here: a request target must be a plain path (/v1/...); anything else, "
                + "malformed requests and bodies over --max-body-size are refused with a JSON error.")
final class RouterCommand implements Callable<Integer> {

    @Option(names = "--replicas", split = ",", paramLabel = "URL",
            description = "Base URLs of the replicas, e.g. http://host1:8000,http://host2:8000 (data parallel).")
    List<URI> replicas;

    @Option(names = "--replica-kv", split = ",", paramLabel = "HOST:PORT",
            description = "Data-parallel mode: each replica's KV transfer address (its --kv-transfer-listen), in the "
                    + "order of --replicas, '-' for one without. A request sent away from the replica holding its "
                    + "prefix (busier than --affinity-slack allows) then tells its replica to fetch the prefix's KV "
                    + "blocks from the holder instead of computing them (the replicas list each other in --kv-peers); "
                    + "counted as prefix_fetch_hints in the router's /health.")
    List<String> replicaKv;

    @Option(names = "--prefill", split = ",", paramLabel = "URL",
            description = "Base URLs of the prefill instances (disaggregated mode, with --decode).")
    List<URI> prefill;

    @Option(names = "--decode", split = ",", paramLabel = "URL",
            description = "Base URLs of the decode instances (disaggregated mode, with --prefill); they answer the "
                    + "clients.")
    List<URI> decode;

    @Option(names = "--local-prefill-below", defaultValue = "0", paramLabel = "TOKENS",
            description = "Disaggregated mode: a prompt estimated below this many tokens (4 characters each) is "
                    + "prefilled by the decode instance itself; counted in the router's /health (default: "
                    + "${DEFAULT-VALUE}, every prompt goes to a prefill instance).")
    long localPrefillBelow;

    @Option(names = "--listen", defaultValue = "127.0.0.1:8080", paramLabel = "HOST:PORT",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--health-interval-ms", defaultValue = "1000", paramLabel = "MS",
            description = "Health check period (default: ${DEFAULT-VALUE}).")
    long healthInterval;

    @Option(names = "--affinity-slack", defaultValue = "512", paramLabel = "TOKENS",
            description = "How many more outstanding tokens a replica holding the prompt's prefix may have than the "
                    + "least loaded one and still be preferred (default: ${DEFAULT-VALUE}).")
    long slack;

    @Option(names = "--request-timeout-s", defaultValue = "600", paramLabel = "S",
            description = "Longest a replica may take for one request (default: ${DEFAULT-VALUE}).")
    long timeout;

    @Option(names = "--stall-timeout-s", defaultValue = "15", paramLabel = "S",
            description = "A replica from which nothing arrives for this long (no response bytes, no SSE keep-alive, "
                    + "no health answer) while it has requests in flight is stalled: it leaves the rotation and its "
                    + "requests are retried elsewhere, or end with an SSE error event once streaming; at least twice "
                    + "the health interval (default: ${DEFAULT-VALUE}).")
    double stallTimeout;

    @Option(names = "--max-body-size", defaultValue = "4M", paramLabel = "BYTES",
            description = "Largest request body; larger gets 413 before anything is forwarded. Keep it at the "
                    + "replicas' own --max-body-size (default: ${DEFAULT-VALUE}, as `tessera serve`).")
    String maxBodySize;

    @Option(names = "--read-timeout-s", defaultValue = "30", paramLabel = "S",
            description = "Longest a client may take to send one whole request, head and body; slower gets 408 "
                    + "(default: ${DEFAULT-VALUE}).")
    double readTimeout;

    @Option(names = "--idle-timeout-s", defaultValue = "120", paramLabel = "S",
            description = "A client connection idle this long between requests is closed (default: ${DEFAULT-VALUE}).")
    double idleTimeout;

    @Override
    public Integer call() throws Exception {
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--listen takes HOST:PORT, got '" + listen + "'");
        }
        Router router = router();
        InetSocketAddress a = router.start(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
        System.out.println("tessera router listening on http://" + a.getHostString() + ":" + a.getPort() + " over "
                + (replicas != null ? replicas.size() + " replicas" : prefill.size() + " prefill and " + decode.size()
                + " decode instances"));
        Thread.currentThread().join();
        return 0;
    }

    /** The data-parallel router over --replicas, or the disaggregated one over --prefill and --decode. */
    Router router() {
        boolean dp = replicas != null && !replicas.isEmpty();
        boolean pd = prefill != null || decode != null;
        if (dp == pd) {
            throw new IllegalArgumentException("give either --replicas (data parallel) or --prefill and --decode "
                    + "(disaggregated)");
        }
        if (dp) {
            Router r = new Router(replicas, config());
            try {
                return replicaKv == null ? r : r.peerPrefixFetch(replicaKv);
            } catch (RuntimeException e) {
                r.close(); // its health checks already run
                throw e;
            }
        }
        if (replicaKv != null) {
            throw new IllegalArgumentException("--replica-kv applies to the data-parallel mode (--replicas)");
        }
        if (prefill == null || prefill.isEmpty() || decode == null || decode.isEmpty()) {
            throw new IllegalArgumentException("the disaggregated mode needs both --prefill and --decode instances");
        }
        return Router.disaggregated(prefill, decode, config(), localPrefillBelow);
    }

    RouterConfig config() {
        return RouterConfig.defaults().withHealthInterval(Duration.ofMillis(healthInterval))
                .withAffinitySlackTokens(slack).withRequestTimeout(seconds("--request-timeout-s", timeout))
                .withStallTimeout(seconds("--stall-timeout-s", stallTimeout))
                .withMaxBodyBytes(EngineOptions.parseBytes("--max-body-size", maxBodySize))
                .withRequestReadTimeout(seconds("--read-timeout-s", readTimeout))
                .withIdleTimeout(seconds("--idle-timeout-s", idleTimeout));
    }

    private static Duration seconds(String option, double s) {
        if (!(s > 0) || s > 1e9) {
            throw new IllegalArgumentException(option + " must be a positive number of seconds, got " + s);
        }
        return Duration.ofMillis(Math.round(s * 1000));
    }
}
