package io.tessera.cluster.worker;

import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.transport.HandshakePolicy;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * Entry point of a worker process: {@code WorkerMain --listen HOST:PORT [--token-file F]}. Prints
 * "tessera worker listening on HOST:PORT" on standard output once bound (port 0 picks one), then
 * serves until killed. The token comes from the file, else from the environment variable
 * TESSERA_CLUSTER_TOKEN ({@code --token T} works too, with a warning: it shows in the process list).
 */
public final class WorkerMain {

    public static final String LISTENING = "tessera worker listening on ";

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        String listen = "127.0.0.1:0";
        String token = null;
        Path tokenFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--listen" -> listen = args[++i];
                case "--token" -> token = args[++i];
                case "--token-file" -> tokenFile = Path.of(args[++i]);
                case "--parent-pid" -> exitWithParent(Long.parseLong(args[++i]));
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        run(listen, ClusterToken.resolve(token, "--token", tokenFile, System.getenv(ClusterToken.ENV)),
                HandshakePolicy.DEFAULT);
    }

    /** Ends this process when the given one ends (workers started by a coordinator do not outlive it). */
    static void exitWithParent(long pid) {
        ProcessHandle.of(pid).ifPresentOrElse(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(0)),
                () -> Runtime.getRuntime().halt(0));
    }

    /** Runs a worker until the process ends. */
    public static void run(String listen, String token, HandshakePolicy handshake) throws Exception {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("a cluster token is needed (--token-file or " + ClusterToken.ENV + ")");
        }
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--listen takes HOST:PORT, got '" + listen + "'");
        }
        Worker w = new Worker(token, handshake);
        InetSocketAddress a = w.start(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
        ClusterLog.speaker("worker " + a.getHostString() + ":" + a.getPort());
        System.out.println(LISTENING + a.getHostString() + ":" + a.getPort());
        System.out.flush();
        w.awaitClose();
    }
}
