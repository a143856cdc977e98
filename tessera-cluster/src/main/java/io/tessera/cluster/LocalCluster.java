package io.tessera.cluster;

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
import java.util.concurrent.TimeUnit;

/**
 * Worker processes started by this process on loopback: what {@code --tp N} with no worker list
 * does. Each child is a JVM running {@link WorkerMain} on a free port with a fresh random token,
 * the same class path and the Vector API / native-access flags; its output goes to this process's
 * standard error. Closing kills them.
 */
public final class LocalCluster implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final String token;

    private LocalCluster(String token) {
        this.token = token;
    }

    /**
     * Starts {@code n} workers.
     *
     * @param heap the -Xmx of each worker, e.g. "256m"
     * @param cpus the processors each worker JVM sizes its own pools for
     */
    public static LocalCluster start(int n, String heap, int cpus) throws IOException {
        byte[] t = new byte[16];
        new SecureRandom().nextBytes(t);
        LocalCluster c = new LocalCluster(HexFormat.of().formatHex(t));
        try {
            List<CompletableFuture<String>> ready = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ready.add(c.spawn(heap, cpus, "127.0.0.1:0"));
            }
            for (CompletableFuture<String> f : ready) {
                c.addresses.add(f.get(60, TimeUnit.SECONDS));
            }
        } catch (Exception e) {
            c.close();
            throw new IOException("cannot start local workers: " + e.getMessage(), e);
        }
        return c;
    }

    private CompletableFuture<String> spawn(String heap, int cpus, String listen) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx" + heap, "-XX:+UseSerialGC",
                "-XX:ActiveProcessorCount=" + cpus, "-Xss1m", "--sun-misc-unsafe-memory-access=allow", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                WorkerMain.class.getName(), "--listen", listen, "--parent-pid",
                Long.toString(ProcessHandle.current().pid())));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("TESSERA_CLUSTER_TOKEN", token);
        String ks = System.getProperty("tessera.cluster.tls.keystore");
        if (ks != null) {
            pb.environment().put("TESSERA_CLUSTER_TLS_KEYSTORE", ks);
            String pw = System.getProperty("tessera.cluster.tls.password", System.getenv("TESSERA_CLUSTER_TLS_PASSWORD"));
            pb.environment().put("TESSERA_CLUSTER_TLS_PASSWORD", pw == null ? "" : pw);
        }
        Process p = pb.start();
        processes.add(p);
        CompletableFuture<String> address = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!address.isDone() && line.startsWith(WorkerMain.LISTENING)) {
                        address.complete(line.substring(WorkerMain.LISTENING.length()).trim());
                    } else {
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
        return address;
    }

    public String token() {
        return token;
    }

    /** Listen addresses, in start order. */
    public List<String> addresses() {
        return List.copyOf(addresses);
    }

    public List<Process> processes() {
        return List.copyOf(processes);
    }

    /** Kills worker {@code i} (SIGKILL) and waits until it is gone. */
    public void kill(int i) throws InterruptedException {
        processes.get(i).destroyForcibly().waitFor();
    }

    /** Starts worker {@code i} again (after it was killed), on its former address. */
    public void restart(int i, String heap, int cpus) throws Exception {
        processes.get(i).destroyForcibly().waitFor();
        CompletableFuture<String> f = spawn(heap, cpus, addresses.get(i));
        processes.set(i, processes.removeLast());
        f.get(60, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
