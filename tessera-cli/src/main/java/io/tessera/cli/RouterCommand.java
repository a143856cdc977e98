package io.tessera.cli;

import io.tessera.cluster.router.Router;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera router}: the data-parallel front of several {@code tessera serve} replicas. */
@Command(name = "router", mixinStandardHelpOptions = true,
        description = "Route OpenAI API requests over several `tessera serve` replicas: fewest outstanding tokens "
                + "first, the same prompt prefix to the replica that has it cached, health checks, retries on another "
                + "replica when one fails.")
final class RouterCommand implements Callable<Integer> {

    @Option(names = "--replicas", required = true, split = ",", paramLabel = "URL",
            description = "Base URLs of the replicas, e.g. http://host1:8000,http://host2:8000.")
    List<URI> replicas;

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

    @Override
    public Integer call() throws Exception {
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--listen takes HOST:PORT, got '" + listen + "'");
        }
        Router router = new Router(replicas, healthInterval, slack, Duration.ofSeconds(timeout));
        InetSocketAddress a = router.start(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
        System.out.println("tessera router listening on http://" + a.getHostString() + ":" + a.getPort() + " over "
                + replicas.size() + " replicas");
        Thread.currentThread().join();
        return 0;
    }
}
