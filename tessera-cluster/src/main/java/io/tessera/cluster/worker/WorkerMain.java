package io.tessera.cluster.worker;

import java.net.InetSocketAddress;

/**
 * Entry point of a worker process: {@code WorkerMain --listen HOST:PORT [--token T]}. Prints
 * "tessera worker listening on HOST:PORT" on standard output once bound (port 0 picks one), then
 * serves until killed. The token may also come from the environment variable TESSERA_CLUSTER_TOKEN.
 */
public final class WorkerMain {

    public static final String LISTENING = "tessera worker listening on ";

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        String listen = "127.0.0.1:0";
        String token = System.getenv("TESSERA_CLUSTER_TOKEN");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--listen" -> listen = args[++i];
                case "--token" -> token = args[++i];
                case "--parent-pid" -> exitWithParent(Long.parseLong(args[++i]));
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        run(listen, token);
    }

    /** Ends this process when the given one ends (workers started by a coordinator do not outlive it). */
    static void exitWithParent(long pid) {
        ProcessHandle.of(pid).ifPresentOrElse(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(0)),
                () -> Runtime.getRuntime().halt(0));
    }

    /** Runs a worker until the process ends. */
    public static void run(String listen, String token) throws Exception {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("a cluster token is needed (--token or TESSERA_CLUSTER_TOKEN)");
        }
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("--listen takes HOST:PORT, got '" + listen + "'");
        }
        Worker w = new Worker(token);
        InetSocketAddress a = w.start(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
        System.out.println(LISTENING + a.getHostString() + ":" + a.getPort());
        System.out.flush();
        w.awaitClose();
    }
}
