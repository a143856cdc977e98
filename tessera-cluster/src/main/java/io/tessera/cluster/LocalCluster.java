package io.tessera.cluster;

import io.tessera.cluster.transport.ClusterLog;
import io.tessera.cluster.transport.ClusterToken;
import io.tessera.cluster.worker.WorkerMain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Worker processes started by this process on loopback: what {@code --tp N} with no worker list
 * does. Each child is a JVM running {@link WorkerMain} on a free port with a fresh random token,
 * the same class path and the Vector API / native-access flags; its output goes to this process's
 * standard error. Closing kills them.
 *
 * <p>With {@link #superviseRestarts} a worker that dies is started again after a delay that doubles
 * with each restart (1 s, 2 s, 4 s, ... at most 30 s), on its former address (on a new port if
 * that one is taken); a worker that ran for a minute counts as healthy again and its count starts
 * over. After the given number of restarts in a row it is left dead. The coordinator's heartbeat
 * reconnects to the new process and re-plans the cluster, as it does for external workers.
 */
public final class LocalCluster implements AutoCloseable {

    private static final long MAX_RESTART_DELAY_MILLIS = 30_000;
    private static final long STABLE_MILLIS = 60_000;
    private static final long LISTEN_TIMEOUT_SECONDS = 60;

    private final List<Process> processes = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final String token;
    private final String heap;
    private final int cpus;
    private int maxRestarts;
    private long firstRestartDelayMillis;
    private int[] restarts;
    private long[] startedNanos;
    private boolean[] portTaken;
    private ScheduledExecutorService supervisor;
    private volatile boolean closed;

    private LocalCluster(String token, String heap, int cpus) {
        this.token = token;
        this.heap = heap;
        this.cpus = cpus;
    }

    /** A started child and the address it reports once it listens. */
    private record Spawned(Process process, CompletableFuture<String> address) {
    }

    /**
     * Starts {@code n} workers.
     *
     * @param heap the -Xmx of each worker, e.g. "256m"
     * @param cpus the processors each worker JVM sizes its own pools for
     */
    public static LocalCluster start(int n, String heap, int cpus) throws IOException {
        byte[] t = new byte[ClusterToken.MIN_BYTES];
        new SecureRandom().nextBytes(t);
        LocalCluster c = new LocalCluster(HexFormat.of().formatHex(t), heap, cpus);
        try {
            List<CompletableFuture<String>> ready = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Spawned s = c.spawn("127.0.0.1:0");
                c.processes.add(s.process());
                ready.add(s.address());
            }
            for (CompletableFuture<String> f : ready) {
                c.addresses.add(f.get(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
        } catch (Exception e) {
            c.close();
            throw new IOException("cannot start local workers: " + e.getMessage(), e);
        }
        return c;
    }

    private static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";

    private Spawned spawn(String listen) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx" + heap, "-XX:+UseSerialGC",
                "-XX:ActiveProcessorCount=" + cpus, "-Xss1m", "--sun-misc-unsafe-memory-access=allow", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                WorkerMain.class.getName(), "--listen", listen, "--parent-pid",
                Long.toString(ProcessHandle.current().pid())));
        // one stream, copied to ours line by line below: the JVM's start-up warning for the Vector API
        // module (no flag turns it off) is dropped there, as the tessera launcher drops its own
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put(ClusterToken.ENV, token);
        String ks = System.getProperty("tessera.cluster.tls.keystore");
        if (ks != null) {
            pb.environment().put("TESSERA_CLUSTER_TLS_KEYSTORE", ks);
            String pw = System.getProperty("tessera.cluster.tls.password", System.getenv("TESSERA_CLUSTER_TLS_PASSWORD"));
            pb.environment().put("TESSERA_CLUSTER_TLS_PASSWORD", pw == null ? "" : pw);
        }
        Process p = pb.start();
        CompletableFuture<String> address = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!address.isDone() && line.startsWith(WorkerMain.LISTENING)) {
                        address.complete(line.substring(WorkerMain.LISTENING.length()).trim());
                    } else if (!line.equals(INCUBATOR_WARNING)) {
                        System.err.println("[worker " + p.pid() + "] " + line);
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            address.completeExceptionally(new IOException("worker process " + p.pid() + " exited before listening"));
        }, "tessera-worker-output");
        reader.setDaemon(true);
        reader.start();
        return new Spawned(p, address);
    }

    public String token() {
        return token;
    }

    /** Current listen addresses, in start order (a worker restarted on another port has moved). */
    public synchronized List<String> addresses() {
        return List.copyOf(addresses);
    }

    public synchronized List<Process> processes() {
        return List.copyOf(processes);
    }

    /**
     * From now on, restarts a worker process that ends (not by {@link #close()}), at most
     * {@code maxRestarts} times in a row, the first after {@code firstDelayMillis}.
     */
    public synchronized void superviseRestarts(int maxRestarts, long firstDelayMillis) {
        if (maxRestarts < 1 || supervisor != null) {
            return;
        }
        this.maxRestarts = maxRestarts;
        this.firstRestartDelayMillis = firstDelayMillis;
        int n = processes.size();
        restarts = new int[n];
        startedNanos = new long[n];
        portTaken = new boolean[n];
        java.util.Arrays.fill(startedNanos, System.nanoTime());
        supervisor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tessera-local-workers");
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < n; i++) {
            watch(i, processes.get(i));
        }
    }

    private void watch(int i, Process p) {
        p.onExit().thenRun(() -> exited(i, p));
    }

    private synchronized void exited(int i, Process p) {
        if (closed || processes.get(i) != p) {
            return;
        }
        long ranMillis = (System.nanoTime() - startedNanos[i]) / 1_000_000;
        if (ranMillis >= STABLE_MILLIS) {
            restarts[i] = 0;
        }
        String what = "local worker " + i + " (pid " + p.pid() + ", " + addresses.get(i) + ") exited with status "
                + p.exitValue();
        if (restarts[i] >= maxRestarts) {
            ClusterLog.log(what + "; not restarted: it failed " + maxRestarts + " times in a row");
            return;
        }
        long delay = Math.min(MAX_RESTART_DELAY_MILLIS, firstRestartDelayMillis << Math.min(restarts[i], 20));
        restarts[i]++;
        ClusterLog.log(what + "; restarting it in " + delay + " ms (restart " + restarts[i] + " of at most "
                + maxRestarts + " in a row)");
        supervisor.schedule(() -> respawn(i), delay, TimeUnit.MILLISECONDS);
    }

    /** Starts worker {@code i} again; if it does not come up, its exit schedules the next attempt. */
    private void respawn(int i) {
        Spawned s;
        synchronized (this) {
            if (closed) {
                return;
            }
            String listen = portTaken[i] ? "127.0.0.1:0" : addresses.get(i);
            try {
                s = spawn(listen);
            } catch (IOException e) {
                ClusterLog.log("cannot start local worker " + i + ": " + e.getMessage() + "; not restarted");
                return;
            }
            processes.set(i, s.process());
            startedNanos[i] = System.nanoTime();
            watch(i, s.process());
        }
        try {
            String a = s.address().get(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            synchronized (this) {
                addresses.set(i, a);
                portTaken[i] = false;
            }
            ClusterLog.log("local worker " + i + " restarted (pid " + s.process().pid() + ") on " + a);
        } catch (Exception e) {
            synchronized (this) {
                // most likely its port was taken meanwhile: the next attempt takes a free one
                portTaken[i] = true;
            }
            s.process().destroyForcibly();
        }
    }

    /** Kills worker {@code i} (SIGKILL) and waits until it is gone. */
    public void kill(int i) throws InterruptedException {
        processes().get(i).destroyForcibly().waitFor();
    }

    /** Starts worker {@code i} again (after it was killed), on its former address; for clusters not supervised. */
    public void restart(int i) throws Exception {
        kill(i);
        Spawned s;
        synchronized (this) {
            s = spawn(addresses.get(i));
            processes.set(i, s.process());
        }
        s.address().get(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        List<Process> all;
        synchronized (this) {
            closed = true;
            if (supervisor != null) {
                supervisor.shutdownNow();
            }
            all = List.copyOf(processes);
        }
        for (Process p : all) {
            p.destroyForcibly();
        }
        for (Process p : all) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
