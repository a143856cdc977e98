package io.tessera.cli;

import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.transport.HandshakePolicy;
import io.tessera.cluster.worker.WorkerMain;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera worker}: a cluster worker process. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a cluster worker: waits for a coordinator (tessera serve/bench with --workers), builds the "
                + "shard it is assigned from its own copy of the model file, and runs its steps. It serves one "
                + "coordinator at a time. Connections must authenticate with the shared token within "
                + "--handshake-timeout, sending at most a small HELLO before; an address that fails "
                + "--max-auth-failures times in a row is refused for --auth-lockout (doubling each time).")
final class WorkerCommand implements Callable<Integer> {

    @Option(names = "--listen", defaultValue = "127.0.0.1:7070", paramLabel = "HOST:PORT",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
    String listen;

    @Option(names = "--token", paramLabel = "T",
            description = "Shared cluster token, at least 16 bytes. Visible in the process list: prefer --token-file "
                    + "or env TESSERA_CLUSTER_TOKEN (the default).")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the shared cluster token (at least 16 bytes; a trailing line break is "
                    + "ignored).")
    java.nio.file.Path tokenFile;

    @Option(names = "--tls-keystore", paramLabel = "FILE",
            description = "PKCS12 keystore shared by the cluster: connections use TLS (password from env "
                    + "TESSERA_CLUSTER_TLS_PASSWORD; default: env TESSERA_CLUSTER_TLS_KEYSTORE).")
    java.nio.file.Path tlsKeystore;

    @Option(names = "--handshake-timeout", defaultValue = "5", paramLabel = "SECONDS",
            description = "A connection that has not authenticated by then is closed (default: ${DEFAULT-VALUE}).")
    double handshakeTimeout;

    @Option(names = "--max-auth-failures", defaultValue = "5", paramLabel = "N",
            description = "Failed handshakes in a row after which an address is refused for a while "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxAuthFailures;

    @Option(names = "--auth-lockout", defaultValue = "60", paramLabel = "SECONDS",
            description = "How long such an address is refused; doubles with each further lockout "
                    + "(default: ${DEFAULT-VALUE}).")
    double authLockout;

    @Override
    public Integer call() throws Exception {
        if (tlsKeystore != null) {
            System.setProperty("tessera.cluster.tls.keystore", tlsKeystore.toAbsolutePath().toString());
        }
        HandshakePolicy handshake = new HandshakePolicy(Duration.ofMillis((long) (handshakeTimeout * 1000)),
                maxAuthFailures, Duration.ofMillis((long) (authLockout * 1000)));
        WorkerMain.run(listen, ClusterToken.resolve(token, "--token", tokenFile, System.getenv(ClusterToken.ENV)),
                handshake);
        return 0;
    }
}
