package io.tessera.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real {@code tessera serve} process on loopback, for tests that kill it; its output goes to a log file. */
final class ServeProcess implements AutoCloseable {

    final Process process;
    final int port;
    final Path log;

    private ServeProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** A port free now (the process binds it right after; a clash fails its start, which the test reports). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code tessera serve ARGS --port P} with these environment variables; waits until /health answers. */
    static ServeProcess start(Path dir, String name, Map<String, String> env, String... args) throws Exception {
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:ActiveProcessorCount=1", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Tessera.class.getName(), "serve"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--port", Integer.toString(port), "--threads", "1"));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        ServeProcess p = new ServeProcess(pb.start(), port, log);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            if (!p.process.isAlive()) {
                throw new IllegalStateException(name + " exited: " + Files.readString(log));
            }
            try {
                HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(p.url() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (h.statusCode() == 200) {
                    return p;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                p.close();
                throw new IllegalStateException(name + " did not answer /health within 60 s: " + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** SIGKILL, and wait for it to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
