package io.tessera.cli;

import io.tessera.cluster.worker.WorkerMain;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera worker}: a cluster worker process. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a cluster worker: waits for a coordinator (tessera serve/bench with --workers), builds the "
                + "shard it is assigned from its own copy of the model file, and runs its steps.")
final class WorkerCommand implements Callable<Integer> {

    @Option(names = "--listen", defaultValue = "127.0.0.1:7070", paramLabel = "HOST:PORT",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
    String listen;

    @Option(names = "--token", paramLabel = "T",
            description = "Shared cluster token (default: env TESSERA_CLUSTER_TOKEN); connections without it are refused.")
    String token;

    @Option(names = "--tls-keystore", paramLabel = "FILE",
            description = "PKCS12 keystore shared by the cluster: connections use TLS (password from env "
                    + "TESSERA_CLUSTER_TLS_PASSWORD; default: env TESSERA_CLUSTER_TLS_KEYSTORE).")
    java.nio.file.Path tlsKeystore;

    @Override
    public Integer call() throws Exception {
        if (tlsKeystore != null) {
            System.setProperty("tessera.cluster.tls.keystore", tlsKeystore.toAbsolutePath().toString());
        }
        WorkerMain.run(listen, token != null ? token : System.getenv("TESSERA_CLUSTER_TOKEN"));
        return 0;
    }
}
